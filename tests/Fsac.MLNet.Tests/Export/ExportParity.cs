using Fsac.MLNet.Export;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Fsac.MLNet.Tests.Export;

/// <summary>
/// What the parity tests of exported models share: running a fitted model's graph on pixels, the worst relative
/// score difference against the TorchSharp scores, and the real cookie images.
/// </summary>
internal static class ExportParity
{
    /// <summary>Scores within this of the TorchSharp model's, relative.</summary>
    public const double Tolerance = 1e-5;

    /// <summary>Runs a fitted model's graph on <paramref name="pixels"/> <c>[count, 3, height, width]</c>.</summary>
    public static (float[] Scores, bool[] Decisions, Tensor<float> Maps) Run(InferenceSession session, float[] pixels, int count, int height, int width)
    {
        var input = new DenseTensor<float>(pixels, [count, 3, height, width]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExport.PixelsInput, input)]);
        var scores = results.Single(r => r.Name == OnnxExport.ScoreOutput).AsTensor<float>().ToArray();
        var decisions = results.Single(r => r.Name == OnnxExport.IsAnomalyOutput).AsTensor<bool>().ToArray();
        var maps = results.Single(r => r.Name == OnnxExport.AnomalyMapOutput).AsTensor<float>().ToDenseTensor();
        return (scores, decisions, maps);
    }

    /// <summary>
    /// Checks the graph's scores against <paramref name="expected"/> (relative, within <see cref="Tolerance"/>) and its
    /// decisions against <c>expected ≥ threshold</c>; returns the worst relative difference.
    /// </summary>
    public static double AssertScoresAndDecisions(float[] scores, bool[] decisions, float[] expected, float threshold)
    {
        Assert.HasCount(expected.Length, scores);
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(scores[i] - expected[i]) / Math.Max(Math.Abs(expected[i]), 1e-30));
            Assert.AreEqual(expected[i] >= threshold, decisions[i], $"image {i}: ONNX {scores[i]:G9}, TorchSharp {expected[i]:G9}, threshold {threshold:G9}");
        }
        Assert.IsLessThanOrEqualTo(Tolerance, worst, "scores, relative");
        return worst;
    }

    /// <summary>The first <paramref name="count"/> real cookie images of <paramref name="kind"/> (normal, anomaly), reduced to 96x128.</summary>
    public static List<Image<Rgb24>> Cookies(string kind, int count)
        => [.. Directory.GetFiles(SharedData.Path("data", "cookies", kind), "*.jpg").Order(StringComparer.Ordinal).Take(count).Select(f =>
        {
            var image = Image.Load<Rgb24>(f);
            image.Mutate(c => c.Resize(96, 128));
            return image;
        })];

    /// <summary>Disposes the images.</summary>
    public static void DisposeAll(IEnumerable<Image<Rgb24>> images)
    {
        foreach (var image in images) image.Dispose();
    }
}
