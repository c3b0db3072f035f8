// Few-shot anomaly classification as an ML.NET pipeline: LoadImages -> FewShotAnomaly -> CopyColumns, fitted on
// 4 normal cookie photographs and evaluated on the other normal ones and all the anomalous ones.
// Data: ../shared/data/cookies beside the repository (normal/*.jpg and anomaly/*.jpg).
// Usage: dotnet run --project samples/Pipeline [scores.tsv: every test image's score and decision, to the last bit]

using Fsac.MLNet.Pipeline;
using Microsoft.ML;
using Microsoft.ML.Runtime;

const int Shots = 4;

var cookies = FindCookies();
if (cookies is null)
{
    Console.Error.WriteLine(
        "The sample data was not found: expected ../shared/data/cookies beside the repository (the folder that holds " +
        "Fsac.MLNet.sln), with normal/*.jpg and anomaly/*.jpg.");
    return 2;
}

// Keep the shots out of the test set: a seeded split of the normal images.
var normals = Directory.GetFiles(Path.Combine(cookies, "normal"), "*.jpg").Order().ToArray();
new Random(0).Shuffle(normals);
var train = normals.Take(Shots).Select(path => new ImageRow(path, Label: false)).ToList();
var test = normals.Skip(Shots).Select(path => new ImageRow(path, Label: false))
    .Concat(Directory.GetFiles(Path.Combine(cookies, "anomaly"), "*.jpg").Order().Select(path => new ImageRow(path, Label: true)))
    .ToList();

var ml = new MLContext(seed: 0);
ml.Log += (_, e) =>
{
    if (e.Kind != ChannelMessageKind.Trace && e.Source.Contains("FewShotAnomaly")) Console.WriteLine($"  [{e.Kind}] {e.RawMessage}");
};

var pipeline = ml.Transforms.LoadImages("Image", imageFolder: "", inputColumnName: nameof(ImageRow.ImagePath))
    .Append(ml.Transforms.FewShotAnomaly(imageColumnName: "Image", className: "cookie", backbone: "resnet18", shots: Shots, seed: 0))
    .Append(ml.Transforms.CopyColumns("AnomalyScore", "Probability"));

Console.WriteLine($"Fitting on {train.Count} normal images, testing on {test.Count} ({test.Count(r => r.Label)} anomalous)...");
ITransformer model;
try
{
    model = pipeline.Fit(ml.Data.LoadFromEnumerable(train));
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine($"Fitting failed: {e.Message}");
    return 1;
}

var scored = model.Transform(ml.Data.LoadFromEnumerable(test));
var metrics = ml.BinaryClassification.EvaluateNonCalibrated(scored);
var extra = ScoredDataViewMetrics.Compute(scored);
Console.WriteLine($"Accuracy  {metrics.Accuracy:F4}");
Console.WriteLine($"F1        {metrics.F1Score:F4}");
Console.WriteLine($"AUROC     {metrics.AreaUnderRocCurve:F4}");
Console.WriteLine($"AUPR      {extra.AreaUnderPrecisionRecallCurve:F4} (average precision)");
Console.WriteLine($"F1-max    {extra.F1Max:F4}");
Console.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());
if (args.Length > 0)
{
    var scores = ml.Data.CreateEnumerable<ScoredImage>(scored, reuseRowObject: false)
        .Select(r => FormattableString.Invariant($"{Path.GetFileName(r.ImagePath)}\t{r.Score:R}\t{r.PredictedLabel}"));
    File.WriteAllLines(args[0], ["image\tscore\tanomalous", .. scores]);
    Console.WriteLine($"Scores: {Path.GetFullPath(args[0])}");
}
return 0;

// The shared folder is ../shared relative to the repository root, the first folder above the program that holds Fsac.MLNet.sln.
static string? FindCookies()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (!File.Exists(Path.Combine(dir.FullName, "Fsac.MLNet.sln"))) continue;
        var cookies = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data", "cookies"));
        return Directory.Exists(cookies) ? cookies : null;
    }
    return null;
}

/// <summary>An image file and whether it is anomalous (ML.NET's positive class).</summary>
internal sealed record ImageRow(string ImagePath, bool Label);

/// <summary>The columns of a scored row that the scores file keeps.</summary>
internal sealed class ScoredImage
{
    public string ImagePath { get; set; } = "";
    public float Score { get; set; }
    public bool PredictedLabel { get; set; }
}
