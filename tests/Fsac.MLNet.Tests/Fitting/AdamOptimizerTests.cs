using Fsac.MLNet.Fitting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.Fitting;

[TestClass]
public sealed class AdamOptimizerTests
{
    [TestMethod]
    public void StepsAsTorchSharpsAdamDoes()
    {
        using var generator = new Generator(5, CPU);
        using var start = randn([6, 5], generator: generator);
        using var targets = randn([7, 5], generator: generator);
        using var ours = new Parameter(start.clone());
        using var theirs = new Parameter(start.clone());
        using var adam = new AdamOptimizer([ours], 0.01);
        using var reference = optim.Adam([theirs], 0.01);

        for (int step = 0; step < 25; step++)
        {
            using var scope = NewDisposeScope();
            adam.ZeroGrad();
            reference.zero_grad();
            Loss(ours, targets).backward();
            Loss(theirs, targets).backward();
            adam.Step();
            reference.step();
        }

        Assert.IsTrue(ours.allclose(theirs, rtol: 1e-6, atol: 1e-7), $"largest difference {ours.sub(theirs).abs().max().item<float>()}");
        Assert.IsFalse(ours.allclose(start), "the parameters moved");
    }

    [TestMethod]
    public void ZeroGradDropsTheGradients_AndStepSkipsParametersWithoutOne()
    {
        using var a = new Parameter(ones(3));
        using var b = new Parameter(ones(3));
        using var adam = new AdamOptimizer([a, b], 0.1);
        a.sum().mul(2).backward();

        adam.Step();
        adam.ZeroGrad();

        Assert.IsNull(a.grad);
        Assert.IsTrue(a.lt(1).all().item<bool>(), "a stepped against its gradient");
        Assert.IsTrue(b.eq(1).all().item<bool>(), "b has no gradient and stays");
    }

    private static Tensor Loss(Tensor weights, Tensor targets)
        => targets.matmul(weights.t()).tanh().sub(0.3).pow(2).mean();
}
