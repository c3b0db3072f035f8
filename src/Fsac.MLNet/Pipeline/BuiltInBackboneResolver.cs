using Fsac.MLNet.Encoders;

namespace Fsac.MLNet.Pipeline;

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
    /// <remarks>
    /// Knows <c>resnet18</c> (offline ImageNet ResNet18), OpenCLIP model folders and published <c>name:tag</c> weights
    /// (see <see cref="Encoders.Backbones"/>). The backbone itself is created when the factory fits or loads.
    /// </remarks>
    public IClassifierFactory CreateFactory(FewShotAnomalyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new BuiltInClassifierFactory(options);
    }
}
