using Fsac.MLNet.Encoders;
using Fsac.MLNet.Head;
using Fsac.MLNet.Synthesis;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Fitting;

/// <summary>
/// Frozen-encoder features that a fit trains on: the k normal shots <c>[k, C]</c>, a pool of M synthetic anomalies
/// per shot <c>[k, M, C]</c> and the raw anchors [T⁺; T⁻] <c>[2, C]</c>. The encoders never change during training,
/// so everything is encoded once here instead of every epoch.
/// </summary>
internal sealed class FeatureCache : IDisposable
{
    /// <summary>Wraps existing features; the cache keeps its own copies (the caller still owns the arguments).</summary>
    /// <param name="normals">Normal-shot features <c>[k, C]</c>.</param>
    /// <param name="anomalyPool">Synthetic-anomaly features <c>[k, M, C]</c>; row i holds the anomalies made from shot i.</param>
    /// <param name="anchors">Raw anchors [T⁺; T⁻] <c>[2, C]</c>.</param>
    /// <exception cref="ArgumentException">The shapes do not fit together.</exception>
    public FeatureCache(Tensor normals, Tensor anomalyPool, Tensor anchors)
    {
        ArgumentNullException.ThrowIfNull(normals);
        ArgumentNullException.ThrowIfNull(anomalyPool);
        ArgumentNullException.ThrowIfNull(anchors);
        if (normals.ndim != 2 || normals.shape[0] < 1)
            throw new ArgumentException($"Normal features must be [k, C] with k >= 1; got [{string.Join(", ", normals.shape)}].", nameof(normals));
        long k = normals.shape[0], c = normals.shape[1];
        if (anomalyPool.ndim != 3 || anomalyPool.shape[0] != k || anomalyPool.shape[1] < 1 || anomalyPool.shape[2] != c)
            throw new ArgumentException($"Anomaly pool must be [{k}, M, {c}] with M >= 1; got [{string.Join(", ", anomalyPool.shape)}].", nameof(anomalyPool));
        if (anchors.ndim != 2 || anchors.shape[0] != 2 || anchors.shape[1] != c)
            throw new ArgumentException($"Anchors must be [2, {c}]; got [{string.Join(", ", anchors.shape)}].", nameof(anchors));
        Normals = Own(normals);
        AnomalyPool = Own(anomalyPool);
        Anchors = Own(anchors);
    }

    /// <summary>Normal-shot features <c>[k, C]</c>.</summary>
    public Tensor Normals { get; }

    /// <summary>Synthetic-anomaly features <c>[k, M, C]</c>.</summary>
    public Tensor AnomalyPool { get; }

    /// <summary>Raw anchors [T⁺; T⁻] <c>[2, C]</c>.</summary>
    public Tensor Anchors { get; }

    /// <summary>k, the number of normal shots (the training batch size).</summary>
    public int Shots => (int)Normals.shape[0];

    /// <summary>M, the synthetic anomalies cached per shot.</summary>
    public int PoolSize => (int)AnomalyPool.shape[1];

    /// <summary>Feature width C.</summary>
    public long FeatureDim => Normals.shape[1];

    /// <summary>
    /// Picks one cached anomaly per shot, uniformly with <paramref name="random"/>: the rows of the flattened pool
    /// <c>[k·M, C]</c> as int64 <c>[k]</c>, row i from shot i's anomalies.
    /// </summary>
    public Tensor SampleRows(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var rows = new long[Shots];
        for (int i = 0; i < rows.Length; i++) rows[i] = (long)i * PoolSize + random.Next(PoolSize);
        return tensor(rows);
    }

    /// <summary>
    /// Encodes the normal shots, synthesises and encodes <see cref="FsacOptions.AnomaliesPerNormal"/> anomalies per
    /// shot, and computes the anchors: from the prompt ensemble when the encoder has a text tower
    /// (<see cref="ITextEncoder"/>), otherwise as prototypes (mean normal feature, mean anomaly feature).
    /// </summary>
    /// <param name="encoder">The frozen image encoder (and text encoder when it implements <see cref="ITextEncoder"/>).</param>
    /// <param name="normals">The normal shots (at least one, any size).</param>
    /// <param name="synthesizer">Makes the synthetic anomalies.</param>
    /// <param name="options">Prompt, pool-size and batch settings.</param>
    /// <param name="synthesisRandom">The only randomness used for synthesis.</param>
    /// <param name="cancellationToken">Checked between batches and images.</param>
    public static FeatureCache Build(IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> normals, IAnomalySynthesizer synthesizer,
        FsacOptions options, Random synthesisRandom, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        using var scope = NewDisposeScope();
        var normalFeatures = encoder.EncodeImages(normals, options.InferenceBatchSize, cancellationToken);
        var pool = EncodeAnomalies(encoder, normals, synthesizer, options.AnomaliesPerNormal, synthesisRandom, options.InferenceBatchSize, cancellationToken);
        var anchors = encoder is ITextEncoder text
            ? TextAnchors.FromPrompts(text, new PromptEnsemble(options.ClassName, options.ExtraNormalPrompts, options.ExtraAnomalousPrompts), options.NormalizePromptsBeforeAveraging)
            : TextAnchors.FromPrototypes(normalFeatures, pool.reshape(-1, encoder.FeatureDim));
        return new FeatureCache(normalFeatures, pool, anchors);
    }

    /// <summary>
    /// Synthesises <paramref name="perNormal"/> anomalies from each normal image (the other normals are offered as
    /// patch sources) and encodes them: <c>[k, perNormal, C]</c>. Images are freed as soon as they are encoded.
    /// </summary>
    /// <exception cref="ArgumentException">No normal image was given.</exception>
    public static Tensor EncodeAnomalies(IImageEncoder encoder, IReadOnlyList<Image<Rgb24>> normals, IAnomalySynthesizer synthesizer,
        int perNormal, Random random, int batchSize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        ArgumentNullException.ThrowIfNull(normals);
        ArgumentNullException.ThrowIfNull(synthesizer);
        ArgumentNullException.ThrowIfNull(random);
        if (normals.Count == 0) throw new ArgumentException("at least one normal image is required", nameof(normals));
        ArgumentOutOfRangeException.ThrowIfLessThan(perNormal, 1);
        using var scope = NewDisposeScope();
        var rows = new List<Tensor>(normals.Count);
        for (int i = 0; i < normals.Count; i++)
        {
            var context = new SynthesisContext([.. normals.Where((_, j) => j != i)]);
            var anomalies = new List<SyntheticAnomaly>(perNormal);
            try
            {
                for (int j = 0; j < perNormal; j++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    anomalies.Add(synthesizer.Synthesize(normals[i], random, context));
                }
                rows.Add(encoder.EncodeImages([.. anomalies.Select(a => a.Image)], batchSize, cancellationToken));
            }
            finally
            {
                foreach (var a in anomalies) a.Dispose();
            }
        }
        return stack(rows, 0).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Normals.Dispose();
        AnomalyPool.Dispose();
        Anchors.Dispose();
    }

    private static Tensor Own(Tensor t)
    {
        using var detached = t.detach();
        return detached.to_type(ScalarType.Float32, copy: true).DetachFromDisposeScope();
    }
}
