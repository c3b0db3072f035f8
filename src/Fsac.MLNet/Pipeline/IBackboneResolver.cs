namespace Fsac.MLNet.Pipeline;

/// <summary>
/// Turns a backbone specification (<see cref="FewShotAnomalyOptions.Backbone"/>: a built-in name such as
/// <c>resnet18</c>, a CLIP model folder or a <c>name:tag</c>) into the factory that fits and loads its classifiers. Used at fit time and again when a
/// saved pipeline is loaded, with the options it was fitted with.
/// </summary>
public interface IBackboneResolver
{
    /// <summary>Creates the classifier factory for <paramref name="options"/>' backbone and settings.</summary>
    /// <exception cref="InvalidOperationException">The backbone is not available here; the message says why.</exception>
    IClassifierFactory CreateFactory(FewShotAnomalyOptions options);
}
