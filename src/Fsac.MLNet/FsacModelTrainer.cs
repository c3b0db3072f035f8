using Fsac.MLNet.Classification;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Training;
using Microsoft.ML.Runtime;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet;

/// <summary>
/// Fits and restores CLIP-FSAC models (<see cref="FewShotAnomalyClassifier"/>) on the backbone named by
/// <see cref="FewShotAnomalyOptions.Backbone"/>. Each model holds its own encoder instance.
/// </summary>
internal sealed class FsacModelTrainer(FewShotAnomalyOptions options) : IAnomalyModelTrainer
{
    private BackboneReference Backbone { get; } = new(options.Backbone, options.Precision);

    public IAnomalyModel Fit(IReadOnlyList<Image<Rgb24>> normals, IChannel channel, CancellationToken cancellationToken)
    {
        var method = options.Method with { InferenceBatchSize = options.BatchSize };
        channel.Info(MessageSensitivity.None,
            $"FewShotAnomaly: fitting CLIP-FSAC ({method.TrainingMode}, {method.EpochsPerStage} epochs per stage, " +
            $"'{method.SynthesisMethod}' anomalies) on {normals.Count} shot(s) with backbone '{Backbone.Spec}'.");
        return FewShotAnomalyClassifier.Fit(Backbone, normals, method, new ChannelProgress(channel), cancellationToken);
    }

    public IAnomalyModel Load(Stream stream)
    {
        IImageEncoder encoder;
        try
        {
            encoder = Backbone.Resolve();
        }
        catch (Exception e) when (e is ArgumentException or IOException or HttpRequestException)
        {
            throw new InvalidOperationException($"The backbone '{options.Backbone}' is not available here: {e.Message}", e);
        }
        try
        {
            return FewShotAnomalyClassifier.Load(stream, encoder).OwnEncoder(Backbone);
        }
        catch
        {
            encoder.Dispose();
            throw;
        }
    }

    /// <summary>Reports the loss at the end of each stage and every 25 epochs, on the fitting thread.</summary>
    private sealed class ChannelProgress(IChannel channel) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            if (value.Epoch == value.Epochs || value.Epoch % 25 == 0)
                channel.Info(MessageSensitivity.None, $"FewShotAnomaly: {value.Stage} epoch {value.Epoch}/{value.Epochs}, loss {value.Loss:F4}.");
        }
    }
}
