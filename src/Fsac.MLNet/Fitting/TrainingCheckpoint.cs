using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Head;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Fitting;

/// <summary>
/// The head of a fit as it stands before training (<see cref="Epoch"/> 0) or after an epoch, shown to a checkpoint
/// callback of <see cref="HeadTrainer"/> or <c>FsacClassifier.Fit</c>. Valid only during the callback.
/// </summary>
public sealed class TrainingCheckpoint
{
    private readonly FsacHead head;
    private readonly Tensor anchors;
    private readonly double temperature;
    private bool valid = true;

    internal TrainingCheckpoint(FsacHead head, Tensor anchors, double temperature, int epoch, int totalEpochs, TrainingStage? stage)
    {
        this.head = head;
        this.anchors = anchors;
        this.temperature = temperature;
        Epoch = epoch;
        TotalEpochs = totalEpochs;
        Stage = stage;
    }

    /// <summary>Epochs trained so far over all stages: 0 before training, <see cref="TotalEpochs"/> at the end.</summary>
    public int Epoch { get; }

    /// <summary>Epochs of the whole fit over all stages.</summary>
    public int TotalEpochs { get; }

    /// <summary>The stage of the epoch just trained; null before training.</summary>
    public TrainingStage? Stage { get; }

    /// <summary>
    /// Anomaly scores of encoder features <c>[N, C]</c> with the head as it stands now (the same computation as
    /// <see cref="FsacClassifier.ScoreFeatures"/>), without gradients and without touching the training state.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called after the callback returned.</exception>
    /// <exception cref="ArgumentException">The features are not <c>[N, C]</c>.</exception>
    public float[] ScoreFeatures(Tensor features)
    {
        if (!valid) throw new InvalidOperationException("A training checkpoint can only be used during its callback.");
        FeatureShape.Require(features, head.FeatureDim);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var psi = head.AdaptText(anchors);
        return head.Logit(features, psi, temperature).data<float>().ToArray();
    }

    /// <summary>Calls <paramref name="callback"/> with this checkpoint, then makes it unusable.</summary>
    internal void Show(Action<TrainingCheckpoint> callback)
    {
        try
        {
            callback(this);
        }
        finally
        {
            valid = false;
        }
    }
}
