using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Fitting;
using Microsoft.ML.Runtime;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Pipeline;

/// <summary>
/// Fits and restores <see cref="FewShotAnomalyClassifier"/>s of the method <see cref="FewShotAnomalyOptions.Method"/>
/// on the backbone named by <see cref="FewShotAnomalyOptions.Backbone"/>. Each model holds its own encoder instance.
/// </summary>
internal sealed class BuiltInClassifierFactory(FewShotAnomalyOptions options) : IClassifierFactory
{
    private BackboneReference Backbone { get; } = new(options.Backbone, options.Precision) { Engine = options.Engine };

    public IAnomalyClassifier Fit(IReadOnlyList<Image<Rgb24>> normals, IChannel channel, CancellationToken cancellationToken)
    {
        var method = options.ToMethodOptions(options.Seed ?? 0);
        var fsac = method.Fsac;
        channel.Info(MessageSensitivity.None, method.Method == AnomalyMethod.Fsac
            ? $"FewShotAnomaly: fitting CLIP-FSAC ({fsac.TrainingMode}, {fsac.EpochsPerStage} epochs per stage, " +
              $"'{fsac.SynthesisMethod}' anomalies) on {normals.Count} shot(s) with backbone '{Backbone.Spec}'."
            : $"FewShotAnomaly: fitting the '{method.MethodName}' method on {normals.Count} shot(s) with backbone '{Backbone.Spec}'.");
        var encoder = Backbone.CreateEncoder();
        if (encoder is ResNet18Encoder resnet)
            channel.Info(MessageSensitivity.None, $"FewShotAnomaly: encoder engine {resnet.Engine}: {resnet.EngineReason}.");
        var model = FewShotAnomalyClassifier.Fit(encoder, Backbone, normals, method, new ChannelProgress(channel), cancellationToken);
        if (model.Inner is PatchCoreClassifier memory)
            channel.Info(MessageSensitivity.None, $"FewShotAnomaly: memory bank of {memory.MemoryPatches} patches ({memory.MemoryBytes / 1e6:F1} MB).");
        return model;
    }

    public IAnomalyClassifier Load(Stream stream)
    {
        IImageEncoder encoder;
        try
        {
            encoder = Backbone.CreateEncoder();
        }
        catch (Exception e) when (e is ArgumentException or IOException or HttpRequestException)
        {
            throw new InvalidOperationException($"The backbone '{options.Backbone}' is not available here: {e.Message}", e);
        }
        try
        {
            return FewShotAnomalyClassifier.Load(stream, encoder, Backbone);
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
