using Fsac.MLNet.Classifiers;
using Microsoft.ML;
using Microsoft.ML.Data;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Pipeline;

/// <summary>
/// The output values of a batch of rows, computed with one <see cref="Fsac.MLNet.Classifiers.IImageScorer.Score"/> call:
/// the decision margin, the decision, the anomaly score and, when asked for, the anomaly map (from the same pass).
/// </summary>
internal sealed class ScoredBatch
{
    private readonly SharedModel _model;
    private readonly FewShotAnomalyOptions _options;
    private readonly bool _withMaps;

    public ScoredBatch(SharedModel model, FewShotAnomalyOptions options, bool withMaps)
    {
        _model = model;
        _options = options;
        _withMaps = withMaps;
    }

    public int Count { get; private set; }
    public float[] Margins { get; private set; } = [];
    public bool[] Decisions { get; private set; } = [];
    public float[] Probabilities { get; private set; } = [];
    public float[][] Maps { get; private set; } = [];

    /// <summary>Scores <paramref name="images"/> (not disposed here); the values replace the previous batch's.</summary>
    public void Compute(IReadOnlyList<Image<Rgb24>> images)
    {
        var (scores, maps, threshold, probabilities) = _model.Use(m =>
        {
            var (s, mapped) = m.ScoreWithMaps(images, _withMaps);
            return (s, mapped, m.Threshold, s.Select(m.ToProbability).ToArray());
        });
        if (scores.Length != images.Count)
            throw new InvalidOperationException($"The anomaly model returned {scores.Length} scores for {images.Count} images.");
        Count = images.Count;
        Margins = scores.Select(s => Margin(s, threshold)).ToArray();
        Decisions = scores.Select(s => s >= threshold).ToArray();
        Probabilities = probabilities;
        if (_withMaps) Maps = images.Select((image, i) => Map(image, maps[i])).ToArray();
    }

    /// <summary>
    /// Getter of added column <paramref name="offset"/> (0 Score, 1 PredictedLabel, 2 Probability, 3 AnomalyMap) that
    /// reads the row at the index <paramref name="current"/> returns.
    /// </summary>
    /// <remarks><paramref name="current"/> may compute the batch, so it is called before the arrays are read.</remarks>
    public Delegate Getter(int offset, Func<int> current) => offset switch
    {
        0 => (ValueGetter<float>)((ref float value) =>
        {
            var i = current();
            value = Margins[i];
        }),
        1 => (ValueGetter<bool>)((ref bool value) =>
        {
            var i = current();
            value = Decisions[i];
        }),
        2 => (ValueGetter<float>)((ref float value) =>
        {
            var i = current();
            value = Probabilities[i];
        }),
        _ => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
        {
            var i = current();
            var map = Maps[i];
            var editor = VBufferEditor.Create(ref value, map.Length);
            map.CopyTo(editor.Values);
            value = editor.Commit();
        }),
    };

    /// <summary>
    /// Score minus threshold, with a score exactly at the threshold mapped to the smallest positive float: ML.NET's
    /// binary evaluators count Score &gt; 0 as positive, the model counts score ≥ threshold as anomalous.
    /// </summary>
    private static float Margin(float score, float threshold)
    {
        var margin = score - threshold;
        return score >= threshold && margin <= 0 ? float.Epsilon : margin;
    }

    private float[] Map(Image<Rgb24> image, float[] map)
    {
        if (map.Length != image.Width * image.Height)
            throw new InvalidOperationException(
                $"The anomaly model returned an anomaly map of {map.Length} values for a {image.Width}x{image.Height} image.");
        return _options.AnomalyMapWidth > 0
            ? MapResampling.Bilinear(map, image.Width, image.Height, _options.AnomalyMapWidth, _options.AnomalyMapHeight)
            : map;
    }
}
