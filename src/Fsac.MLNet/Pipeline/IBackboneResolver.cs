namespace Fsac.MLNet.Pipeline;

/// <summary>
/// Turns a backbone specification (<see cref="FewShotAnomalyOptions.Backbone"/>: a built-in name such as
/// <c>resnet18</c>, a CLIP model folder or a <c>name:tag</c>) into a trainer. Used at fit time and again when a
/// saved pipeline is loaded, with the options it was fitted with.
/// </summary>
public interface IBackboneResolver
{
    /// <summary>Creates the trainer for <paramref name="options"/>' backbone and settings.</summary>
    /// <exception cref="InvalidOperationException">The backbone is not available here; the message says why.</exception>
    IAnomalyModelTrainer Resolve(FewShotAnomalyOptions options);
}
