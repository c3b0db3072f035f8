using Fsac.MLNet.Head;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fsac.MLNet.Fitting;

/// <summary>
/// Fits an <see cref="FsacHead"/> on cached features (CLIP-FSAC §3.4, Training). Each epoch is one batch: the k
/// normal shots, each paired with one synthetic anomaly drawn from its cached pool, trained with the
/// fusion-text contrastive loss. Two-stage training runs <see cref="TrainingStage.ImageSide"/> then
/// <see cref="TrainingStage.TextSide"/>; the other modes are the paper's ablations.
/// </summary>
public sealed class HeadTrainer
{
    private readonly FsacOptions options;

    /// <summary>Creates a trainer for the schedule, learning rates, epochs and temperature of <paramref name="options"/>.</summary>
    public HeadTrainer(FsacOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        this.options = options;
    }

    /// <summary>The stages that <paramref name="mode"/> runs, in order.</summary>
    public static IReadOnlyList<TrainingStage> StagesOf(FsacTrainingMode mode) => mode switch
    {
        FsacTrainingMode.TwoStage => [TrainingStage.ImageSide, TrainingStage.TextSide],
        FsacTrainingMode.OneStage => [TrainingStage.ImageSide],
        FsacTrainingMode.Joint => [TrainingStage.Joint],
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown training mode"),
    };

    /// <summary>Runs every stage of <see cref="FsacOptions.TrainingMode"/>; leaves the head frozen (no parameter requires grad).</summary>
    /// <param name="head">The head to train in place.</param>
    /// <param name="cache">The cached features.</param>
    /// <param name="sampler">Chooses the anomaly paired with each shot every epoch (the only randomness of training).</param>
    /// <param name="progress">Receives one report per epoch.</param>
    /// <param name="cancellationToken">Checked before every epoch.</param>
    internal TrainingHistory Train(FsacHead head, FeatureCache cache, Random sampler, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
        => TrainAll(head, cache, sampler, null, progress, cancellationToken);

    /// <summary>
    /// Runs every stage as the other overload does and shows the head to <paramref name="checkpoint"/> before the first
    /// epoch and after every epoch. The callback cannot change the training: the result is the same as without it.
    /// </summary>
    /// <param name="head">The head to train in place.</param>
    /// <param name="cache">The cached features.</param>
    /// <param name="sampler">Chooses the anomaly paired with each shot every epoch.</param>
    /// <param name="checkpoint">Called synchronously; the checkpoint is valid only during the call.</param>
    /// <param name="progress">Receives one report per epoch.</param>
    /// <param name="cancellationToken">Checked before every epoch.</param>
    internal TrainingHistory Train(FsacHead head, FeatureCache cache, Random sampler, Action<TrainingCheckpoint> checkpoint,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        return TrainAll(head, cache, sampler, checkpoint, progress, cancellationToken);
    }

    private TrainingHistory TrainAll(FsacHead head, FeatureCache cache, Random sampler, Action<TrainingCheckpoint>? checkpoint,
        IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(head);
        ArgumentNullException.ThrowIfNull(cache);
        var stageList = StagesOf(options.TrainingMode);
        int total = stageList.Count * options.EpochsPerStage;
        if (checkpoint is not null)
            new TrainingCheckpoint(head, cache.Anchors, options.ScoreTemperature, 0, total, null).Show(checkpoint);
        var stages = new List<StageHistory>();
        foreach (var stage in stageList)
        {
            var observer = checkpoint is null ? null : new StageObserver(checkpoint, stages.Count * options.EpochsPerStage, total);
            stages.Add(new StageHistory(stage, RunStage(head, cache, stage, sampler, progress, observer, cancellationToken)));
        }
        return new TrainingHistory(stages);
    }

    /// <summary>
    /// Runs <see cref="FsacOptions.EpochsPerStage"/> epochs of one stage with fresh Adam optimizers. Parameters outside
    /// the stage are frozen and left bit-identical. Returns the loss of each epoch; leaves the head frozen.
    /// </summary>
    internal float[] TrainStage(FsacHead head, FeatureCache cache, TrainingStage stage, Random sampler,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
        => RunStage(head, cache, stage, sampler, progress, null, cancellationToken);

    private float[] RunStage(FsacHead head, FeatureCache cache, TrainingStage stage, Random sampler,
        IProgress<TrainingProgress>? progress, StageObserver? observer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(head);
        ArgumentNullException.ThrowIfNull(cache);
        ArgumentNullException.ThrowIfNull(sampler);
        if (head.FeatureDim != cache.FeatureDim)
            throw new ArgumentException($"The head expects {head.FeatureDim}-d features but the cache holds {cache.FeatureDim}-d ones.", nameof(cache));
        bool imageSide = stage is TrainingStage.ImageSide or TrainingStage.Joint;
        bool textSide = stage is TrainingStage.TextSide or TrainingStage.Joint;
        SetTrainable(head.ImageSideParameters, imageSide);
        SetTrainable(head.TextSideParameters, textSide);
        var optimizers = new List<AdamOptimizer>(2);
        using var frozen = FrozenSide.Of(head, cache, imageSide, textSide);
        try
        {
            if (imageSide) optimizers.Add(new AdamOptimizer(head.ImageSideParameters, options.ImageLearningRate));
            if (textSide) optimizers.Add(new AdamOptimizer(head.TextSideParameters, options.TextLearningRate));
            var losses = new float[options.EpochsPerStage];
            int shots = cache.Shots;
            for (int epoch = 0; epoch < losses.Length; epoch++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                foreach (var optimizer in optimizers) optimizer.ZeroGrad();
                // The shots and their sampled anomalies go through the head as one batch, so each weight is read
                // once per pass rather than once per half (the head is memory-bound at a few rows).
                var rows = cache.SampleRows(sampler);
                var features = cat([cache.Normals, frozen.Pool.index_select(0, rows)], 0);
                var psi = frozen.Psi ?? head.AdaptText(cache.Anchors);
                var fused = frozen.AdaptedPool is null
                    ? head.Fuse(features, psi)
                    : head.Fuse(features, cat([frozen.AdaptedNormals!, frozen.AdaptedPool.index_select(0, rows)], 0), psi);
                var loss = FusionTextContrastiveLoss.Compute(fused.narrow(0, 0, shots), fused.narrow(0, shots, shots), psi, options.TrainingTemperature);
                loss.backward();
                foreach (var optimizer in optimizers) optimizer.Step();
                losses[epoch] = loss.item<float>();
                progress?.Report(new TrainingProgress(stage, epoch + 1, losses.Length, losses[epoch]));
                observer?.Show(head, cache, options.ScoreTemperature, stage, epoch + 1);
            }
            return losses;
        }
        finally
        {
            foreach (var optimizer in optimizers) optimizer.Dispose();
            SetTrainable(head.ImageSideParameters, false);
            SetTrainable(head.TextSideParameters, false);
        }
    }

    /// <summary>
    /// What a stage computes once instead of every epoch, because the side that produces it is frozen: ψ while the
    /// text adapter is frozen, and AF of every cached feature while the image adapter is frozen (the same values each
    /// epoch would compute). Also the flattened pool <c>[k·M, C]</c>.
    /// </summary>
    private sealed class FrozenSide : IDisposable
    {
        private FrozenSide(Tensor pool, Tensor? psi, Tensor? adaptedNormals, Tensor? adaptedPool)
        {
            Pool = pool;
            Psi = psi;
            AdaptedNormals = adaptedNormals;
            AdaptedPool = adaptedPool;
        }

        public Tensor Pool { get; }

        public Tensor? Psi { get; }

        public Tensor? AdaptedNormals { get; }

        public Tensor? AdaptedPool { get; }

        public static FrozenSide Of(FsacHead head, FeatureCache cache, bool imageSide, bool textSide)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var pool = cache.AnomalyPool.reshape(-1, cache.FeatureDim);
            var psi = textSide ? null : head.AdaptText(cache.Anchors);
            var adaptedNormals = imageSide ? null : head.AdaptImage(cache.Normals);
            var adaptedPool = imageSide ? null : head.AdaptImage(pool);
            return new FrozenSide(pool.DetachFromDisposeScope(), psi?.DetachFromDisposeScope(),
                adaptedNormals?.DetachFromDisposeScope(), adaptedPool?.DetachFromDisposeScope());
        }

        public void Dispose()
        {
            Pool.Dispose();
            Psi?.Dispose();
            AdaptedNormals?.Dispose();
            AdaptedPool?.Dispose();
        }
    }

    /// <summary>Shows checkpoints of one stage, numbering epochs over the whole fit.</summary>
    private sealed record StageObserver(Action<TrainingCheckpoint> Callback, int EpochOffset, int TotalEpochs)
    {
        public void Show(FsacHead head, FeatureCache cache, double temperature, TrainingStage stage, int epochInStage)
            => new TrainingCheckpoint(head, cache.Anchors, temperature, EpochOffset + epochInStage, TotalEpochs, stage).Show(Callback);
    }

    private static void SetTrainable(IEnumerable<Parameter> parameters, bool trainable)
    {
        foreach (var p in parameters)
        {
            p.requires_grad = trainable;
            p.grad = null;
        }
    }
}
