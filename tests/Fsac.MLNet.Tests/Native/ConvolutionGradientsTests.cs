using Fsac.MLNet.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.Native;

[TestClass]
public sealed class ConvolutionGradientsTests
{
    public TestContext TestContext { get; set; } = null!;

    /// <summary>Shapes whose float32 input gradient oneDNN gets wrong on AVX-512 CPUs (output channels not a multiple of 16).</summary>
    [TestMethod]
    [DataRow(24L, 3L, 5L)]
    [DataRow(8L, 3L, 5L)]
    [DataRow(40L, 3L, 7L)]
    [DataRow(24L, 24L, 3L)]
    [DataRow(64L, 3L, 7L)]
    public void InsideTheScope_ConvolutionInputGradientsMatchFloat64(long outChannels, long inChannels, long kernel)
    {
        using var scope = NewDisposeScope();
        using var generator = new Generator(3, CPU);
        var weight = randn([outChannels, inChannels, kernel, kernel], generator: generator).mul_(0.2);
        var input = randn([2, inChannels, 20, 24], generator: generator);
        var upstream = randn([2, outChannels, 20, 24], generator: generator);

        Tensor single;
        using (ConvolutionGradients.ForBackward())
            single = InputGradient(input, weight, upstream, kernel);
        var reference = InputGradient(input.to(float64), weight.to(float64), upstream.to(float64), kernel).to(float32);

        TestContext.WriteLine($"oneDNN defective here: {ConvolutionGradients.OneDnnIsDefective}");
        var error = single.sub(reference).abs().nan_to_num(float.PositiveInfinity).max().item<float>();
        Assert.IsLessThan(1e-3f, error, $"largest difference to float64: {error}");
    }

    [TestMethod]
    public void ScopesTurnOneDnnOffOnlyWhereItIsDefective_AndTheLastOneRestoresIt()
    {
        var before = ConvolutionGradients.OneDnnEnabled;
        var outer = ConvolutionGradients.ForBackward();
        var inner = ConvolutionGradients.ForBackward();
        var whileBoth = ConvolutionGradients.OneDnnEnabled;
        inner.Dispose();
        var whileOuter = ConvolutionGradients.OneDnnEnabled;
        outer.Dispose();

        var expectedInside = ConvolutionGradients.OneDnnIsDefective ? false : before;
        Assert.AreEqual(expectedInside, whileBoth);
        Assert.AreEqual(expectedInside, whileOuter, "the outer scope is still open");
        Assert.AreEqual(before, ConvolutionGradients.OneDnnEnabled);
    }

    private static Tensor InputGradient(Tensor input, Tensor weight, Tensor upstream, long kernel)
    {
        using var gradients = enable_grad();
        var x = input.detach().requires_grad_(true);
        var y = nn.functional.conv2d(x, weight, padding: [kernel / 2, kernel / 2]);
        return autograd.grad([y.narrow(2, 0, upstream.shape[2]).narrow(3, 0, upstream.shape[3]).mul(upstream).sum()], [x])[0];
    }
}
