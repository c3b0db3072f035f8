using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Fsac.MLNet.Fitting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.Fitting;

[TestClass]
public sealed class AdamOptimizerTests
{
    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void StepsAsTorchSharpsAdamDoes(bool transposed)
    {
        // A contiguous float32 parameter takes the one-pass step (6 x 5 ends in a partial vector); a transposed one
        // takes the tensor operations.
        using var generator = new Generator(5, CPU);
        using var start = transposed ? randn([5, 6], generator: generator).t() : randn([6, 5], generator: generator);
        using var targets = randn([7, 5], generator: generator);
        Assert.AreEqual(!transposed, start.is_contiguous());

        AssertStepsAsTorchSharpsAdam(start, (parameter, _) => Loss(parameter, targets).backward());
    }

    [TestMethod]
    public void StepsALargeParameterAsTorchSharpsAdamDoes()
    {
        // 210,000 elements span several chunks of the one-pass step. The gradients are given rather than computed
        // from the parameters, so that last-bit differences are not fed back and amplified by a loss; gradients as
        // small as ε (1e-8) are included.
        using var generator = new Generator(11, CPU);
        using var start = randn([300, 700], generator: generator);
        var gradients = Enumerable.Range(0, Steps)
            .Select(_ => randn([300, 700], generator: generator).mul(pow(10, randint(-8, 1, [300, 700], generator: generator)))).ToArray();

        AssertStepsAsTorchSharpsAdam(start, (parameter, step) => parameter.grad = gradients[step].clone());
        foreach (var g in gradients) g.Dispose();
    }

    private const int Steps = 25;

    // Runs the library's Adam and TorchSharp's from the same start for Steps steps, each given its gradients by
    // setGradient(parameter, step), and checks that they end at the same parameters.
    private static void AssertStepsAsTorchSharpsAdam(Tensor start, Action<Parameter, int> setGradient)
    {
        using var ours = new Parameter(start.clone());
        using var theirs = new Parameter(start.clone());
        using var adam = new AdamOptimizer([ours], 0.01);
        using var reference = optim.Adam([theirs], 0.01);

        for (int step = 0; step < Steps; step++)
        {
            using var scope = NewDisposeScope();
            adam.ZeroGrad();
            reference.zero_grad();
            setGradient(ours, step);
            setGradient(theirs, step);
            adam.Step();
            reference.step();
        }

        Assert.IsTrue(ours.allclose(theirs, rtol: 1e-6, atol: 1e-7), $"largest difference {ours.sub(theirs).abs().max().item<float>()}");
        Assert.IsFalse(ours.allclose(start), "the parameters moved");
    }

    [TestMethod]
    public void ZeroGradZeroesTheGradientsInPlace_AndStepSkipsParametersWithoutOne()
    {
        using var a = new Parameter(ones(3));
        using var b = new Parameter(ones(3));
        using var adam = new AdamOptimizer([a, b], 0.1);
        a.sum().mul(2).backward();
        adam.Step();
        var memory = a.grad!.bytes;

        adam.ZeroGrad();
        Assert.IsTrue(a.grad!.eq(0).all().item<bool>(), "zeroed");
        a.sum().mul(3).backward();

        Assert.IsTrue(Unsafe.AreSame(ref MemoryMarshal.GetReference(memory), ref MemoryMarshal.GetReference(a.grad!.bytes)),
            "the next backward pass writes into the same memory");
        Assert.IsTrue(a.grad!.eq(3).all().item<bool>(), "the new gradient alone, not added to the last one");
        Assert.IsTrue(a.lt(1).all().item<bool>(), "a stepped against its gradient");
        Assert.IsNull(b.grad);
        Assert.IsTrue(b.eq(1).all().item<bool>(), "b has no gradient and stays");
    }

    private static Tensor Loss(Tensor weights, Tensor targets)
        => targets.matmul(weights.t()).tanh().sub(0.3).pow(2).mean();
}
