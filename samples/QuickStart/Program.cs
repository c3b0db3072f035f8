// The shortest real program: fit the default method on 4 normal cookie photographs (ResNet18, offline), score
// held-out normal and anomalous ones, print a table and write an anomaly heatmap per image.
// Data: ../shared/data/cookies beside the repository (normal/*.jpg and anomaly/*.jpg).
// Usage: dotnet run --project samples/QuickStart [heatmap folder, default ./heatmaps]

using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Visualisation;

var cookies = FindCookies();
if (cookies is null)
{
    Console.Error.WriteLine("The sample data was not found: expected ../shared/data/cookies beside the repository " +
        "(the folder that holds Fsac.MLNet.sln), with normal/*.jpg and anomaly/*.jpg.");
    return 2;
}
var heatmaps = Directory.CreateDirectory(args.Length > 0 ? args[0] : "heatmaps").FullName;

var normals = Directory.GetFiles(Path.Combine(cookies, "normal"), "*.jpg").Order(StringComparer.Ordinal).ToArray();
var shots = normals[..4].Select(ImageLoader.Default.Load).ToList();
string[] test = [.. normals[4..8], .. Directory.GetFiles(Path.Combine(cookies, "anomaly"), "*.jpg").Order(StringComparer.Ordinal).Take(4)];

Console.WriteLine($"Fitting on {shots.Count} normal cookies...");
using var model = FewShotAnomalyClassifier.Fit(new BackboneReference("resnet18"), shots);
model.Save("cookie.fsac"); // FewShotAnomalyClassifier.Load("cookie.fsac") or 'fsac predict --model cookie.fsac' read it back

Console.WriteLine($"{"image",-28} {"score",6}  decision   (threshold {model.Threshold:F3})");
foreach (var file in test)
{
    using var image = ImageLoader.Default.Load(file);
    var (scores, maps) = model.ScoreWithMaps([image], withMaps: true);
    float score = scores[0];
    SaliencyOverlay.WritePng(image, maps[0], Path.Combine(heatmaps, Path.GetFileNameWithoutExtension(file) + ".png"), range: model.MapRange);
    var label = Path.GetFileName(Path.GetDirectoryName(file)) + "/" + Path.GetFileName(file);
    Console.WriteLine($"{label,-28} {score,6:F3}  {(score >= model.Threshold ? "ANOMALOUS" : "normal")}");
}
Console.WriteLine($"Heatmaps: {heatmaps}");
shots.ForEach(s => s.Dispose());
return 0;

// ../shared relative to the repository root, the first folder above the program that holds Fsac.MLNet.sln.
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
