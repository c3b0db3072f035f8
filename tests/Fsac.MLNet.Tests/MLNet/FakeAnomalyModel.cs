using Fsac.MLNet.Classifiers;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.MLNet;

/// <summary>
/// Stand-in for CLIP-FSAC: saliency = per-pixel |brightness − mean normal brightness| / 255, score = its mean,
/// threshold = the largest score among the normal shots. Counts its calls.
/// </summary>
public sealed class FakeAnomalyModel(string backboneName, float normalBrightness, float threshold, FakeCalls calls) : IAnomalyClassifier
{
    public string BackboneName { get; } = backboneName;

    public float Threshold { get; } = threshold;

    public float NormalBrightness { get; } = normalBrightness;

    public bool Disposed { get; private set; }

    public float[] Score(IReadOnlyList<Image<Rgb24>> images, CancellationToken cancellationToken = default)
    {
        calls.CountScore(images.Count);
        return images.Select(image => Mean(Deviation(image, NormalBrightness))).ToArray();
    }

    public float[] Saliency(Image<Rgb24> image, CancellationToken cancellationToken = default) =>
        Deviation(image, NormalBrightness);

    public (float[] Scores, float[][] Maps) ScoreWithMaps(IReadOnlyList<Image<Rgb24>> images, bool withMaps, CancellationToken cancellationToken = default)
        => (Score(images, cancellationToken), withMaps ? [.. images.Select(i => AnomalyMap(i, cancellationToken))] : []);

    public float[] AnomalyMap(Image<Rgb24> image, CancellationToken cancellationToken = default)
    {
        calls.CountMap();
        return Deviation(image, NormalBrightness);
    }

    public void Save(Stream stream)
    {
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(NormalBrightness);
        writer.Write(Threshold);
    }

    public void Dispose() => Disposed = true;

    public static float Brightness(Rgb24 p) => (p.R + p.G + p.B) / 3f;

    public static float[] Deviation(Image<Rgb24> image, float mean)
    {
        var map = new float[image.Width * image.Height];
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < row.Length; x++) map[y * row.Length + x] = Math.Abs(Brightness(row[x]) - mean) / 255f;
            }
        });
        return map;
    }

    private static float Mean(float[] values)
    {
        double sum = 0;
        foreach (var v in values) sum += v;
        return (float)(sum / values.Length);
    }
}
