using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fsac.MLNet.Head;

/// <summary>
/// A CLIP-FSAC adapter with its residual blend (Eq. 3 and 4): <c>out = w_a · MLP(x) + w_o · x</c>, the MLP being
/// <c>blocks</c> repetitions of Linear C→4C, GELU, Linear 4C→C. The image adapter A_f uses (α₁, α₂), the text
/// adapter A_g (β₁, β₂). Rows are transformed independently.
/// </summary>
internal sealed class ResidualAdapter : nn.Module<Tensor, Tensor>
{
    /// <summary>Hidden width of each block relative to the feature width (the authors' code: 4).</summary>
    public const int Expansion = 4;

    private readonly Sequential mlp;

    /// <summary>Creates the adapter with Xavier-normal weights drawn from <paramref name="generator"/>.</summary>
    /// <param name="name">Module name.</param>
    /// <param name="featureDim">Feature width C.</param>
    /// <param name="blocks">Number of MLP blocks (at least 1).</param>
    /// <param name="adaptedWeight">Weight of the adapted feature (α₁ or β₁).</param>
    /// <param name="originalWeight">Weight of the original feature (α₂ or β₂).</param>
    /// <param name="generator">Source of the initial weights.</param>
    public ResidualAdapter(string name, long featureDim, int blocks, float adaptedWeight, float originalWeight, Generator generator)
        : base(name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blocks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(featureDim, 1);
        var layers = new List<nn.Module<Tensor, Tensor>>(3 * blocks);
        for (int b = 0; b < blocks; b++)
        {
            layers.Add(SeededInit.XavierLinear(featureDim, Expansion * featureDim, generator));
            layers.Add(nn.GELU());
            layers.Add(SeededInit.XavierLinear(Expansion * featureDim, featureDim, generator));
        }
        mlp = nn.Sequential(layers);
        AdaptedWeight = adaptedWeight;
        OriginalWeight = originalWeight;
        RegisterComponents();
    }

    /// <summary>Weight of the adapted feature (α₁ or β₁).</summary>
    public float AdaptedWeight { get; }

    /// <summary>Weight of the original feature (α₂ or β₂).</summary>
    public float OriginalWeight { get; }

    /// <summary>The MLP's blocks in order, each Linear C→4C (<c>Up</c>), GELU, Linear 4C→C (<c>Down</c>): for the ONNX export.</summary>
    internal IReadOnlyList<(Linear Up, Linear Down)> Blocks
    {
        get
        {
            var linears = mlp.children().OfType<Linear>().ToArray();
            return [.. Enumerable.Range(0, linears.Length / 2).Select(b => (linears[2 * b], linears[2 * b + 1]))];
        }
    }

    /// <summary>Adapts features <c>[N, C]</c> into <c>[N, C]</c>.</summary>
    public override Tensor forward(Tensor input)
    {
        using var adapted = mlp.forward(input);
        using var scaled = adapted.mul(AdaptedWeight);
        return scaled.add(input, OriginalWeight);
    }
}
