using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fsac.MLNet.Encoders.Clip;

/// <summary>
/// LayerNorm over the last dimension that always computes in float32 and returns the input's type,
/// so that a bfloat16 model keeps its normalisation statistics exact. Parameters: <c>weight</c>, <c>bias</c>.
/// </summary>
internal sealed class LayerNormFp32 : nn.Module<Tensor, Tensor>
{
    private readonly long[] _shape;
    private readonly double _eps;

    /// <summary>Gain, float32.</summary>
    public readonly Parameter weight;
    /// <summary>Shift, float32.</summary>
    public readonly Parameter bias;

    /// <summary>Creates a LayerNorm over <paramref name="width"/> features.</summary>
    public LayerNormFp32(int width, double eps = 1e-5) : base(nameof(LayerNormFp32))
    {
        _shape = [width];
        _eps = eps;
        weight = nn.Parameter(ones(width));
        bias = nn.Parameter(zeros(width));
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        if (x.dtype == ScalarType.Float32) return nn.functional.layer_norm(x, _shape, weight, bias, _eps);
        using var x32 = x.to_type(ScalarType.Float32);
        using var y = nn.functional.layer_norm(x32, _shape, weight, bias, _eps);
        return y.to_type(x.dtype);
    }
}
