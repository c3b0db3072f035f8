using Fsac.MLNet.Evaluation;
using Fsac.MLNet.Head;
using Fsac.MLNet.Tests.TestDoubles;
using SixLabors.ImageSharp;

namespace Fsac.MLNet.Tests.Evaluation;

/// <summary>
/// A tiny folder-layout data set of generated PNGs in a temporary folder (deleted on dispose): categories
/// <c>alpha</c> and <c>nested/beta</c>, each with <c>normal/</c> and <c>anomaly/</c> images from <see cref="SyntheticImages"/>.
/// </summary>
internal sealed class EvaluationFixture : IDisposable
{
    public static readonly string[] CategoryNames = ["alpha", "nested/beta"];

    public EvaluationFixture(int normals = 6, int anomalies = 4)
    {
        Root = Directory.CreateTempSubdirectory("fsac-eval").FullName;
        var rng = new Random(11);
        foreach (var name in CategoryNames)
        {
            var dir = Path.Combine(Root, name);
            Directory.CreateDirectory(Path.Combine(dir, "normal"));
            Directory.CreateDirectory(Path.Combine(dir, "anomaly"));
            for (int i = 0; i < normals; i++)
            {
                using var image = SyntheticImages.Normal(rng);
                image.SaveAsPng(Path.Combine(dir, "normal", $"n{i:D2}.png"));
            }
            for (int i = 0; i < anomalies; i++)
            {
                using var image = SyntheticImages.Defective(rng);
                image.SaveAsPng(Path.Combine(dir, "anomaly", $"a{i:D2}.png"));
            }
        }
    }

    public string Root { get; }

    /// <summary>Fast settings: 2 shot counts, 2 seeds, 3 epochs per stage, small pools.</summary>
    public static EvaluationOptions Options(params EvaluationMethod[] methods) => new()
    {
        Shots = [1, 2],
        Seeds = [0, 1],
        Methods = methods.Length > 0 ? methods : [EvaluationMethod.Fsac, EvaluationMethod.FsacOneStage, EvaluationMethod.Knn, EvaluationMethod.ZeroShot],
        Fsac = FsacPreset.MVTec with { EpochsPerStage = 3, AnomaliesPerNormal = 2, CalibrationAnomaliesPerNormal = 1, InferenceBatchSize = 4 },
        CheckpointInterval = 2,
        HeatmapsPerClass = 2,
    };

    public static EvaluationRunner Runner(TinyEncoder encoder) => new(encoder, _ => new SquareSynthesizer());

    public static EvaluationRunner Runner(ImageOnlyEncoder encoder) => new(encoder, _ => new SquareSynthesizer());

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
