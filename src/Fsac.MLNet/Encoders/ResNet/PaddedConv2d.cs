using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fsac.MLNet.Encoders.ResNet;

/// <summary>
/// A bias-free square 2-D convolution with ONNX-style per-side zero padding. Symmetric padding goes to the
/// convolution itself; asymmetric padding (CNTK exports) is applied explicitly first, which is exact.
/// Its only parameter is <c>weight</c> <c>[out, in, k, k]</c>, as in <c>torch.nn.Conv2d(bias=False)</c>.
/// </summary>
internal sealed class PaddedConv2d : nn.Module<Tensor, Tensor>
{
    // Field name is the parameter name in the state dictionary.
    private readonly Parameter weight;
    private readonly long[] _stride;
    private readonly Padding2d _padding;

    /// <summary>Creates the convolution of <paramref name="spec"/> with uninitialised, frozen weights.</summary>
    public PaddedConv2d(ConvBnSpec spec) : base(nameof(PaddedConv2d))
    {
        weight = new Parameter(empty(spec.OutChannels, spec.InChannels, spec.Kernel, spec.Kernel), requires_grad: false);
        _stride = [spec.Stride, spec.Stride];
        _padding = spec.Padding;
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        if (_padding.IsSymmetric)
            return nn.functional.conv2d(input, weight, strides: _stride, padding: [_padding.Top, _padding.Left]);
        using var scope = NewDisposeScope();
        var padded = nn.functional.pad(input, _padding.ToTorchPad());
        return nn.functional.conv2d(padded, weight, strides: _stride).MoveToOuterDisposeScope();
    }
}
