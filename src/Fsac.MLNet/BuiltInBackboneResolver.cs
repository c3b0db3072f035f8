namespace Fsac.MLNet;

/// <summary>
/// The resolver used when <see cref="FewShotAnomalyOptions.BackboneResolver"/> is null: it knows the backbones
/// that ship with Fsac.MLNet.
/// </summary>
public sealed class BuiltInBackboneResolver : IBackboneResolver
{
    /// <summary>The single instance.</summary>
    public static BuiltInBackboneResolver Instance { get; } = new();

    private BuiltInBackboneResolver() { }

    /// <inheritdoc />
    public IAnomalyModelTrainer Resolve(FewShotAnomalyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        throw new InvalidOperationException(
            $"The backbone '{options.Backbone}' is not available: this build of Fsac.MLNet has no encoder for it. " +
            $"Set {nameof(FewShotAnomalyOptions)}.{nameof(FewShotAnomalyOptions.BackboneResolver)} to a resolver that provides it.");
    }
}
