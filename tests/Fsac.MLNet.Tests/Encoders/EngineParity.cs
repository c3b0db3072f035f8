using TorchSharp;

namespace Fsac.MLNet.Tests.Encoders;

/// <summary>How the engine tests compare one engine's features with the other's.</summary>
internal static class EngineParity
{
    /// <summary>Largest |ONNX Runtime − TorchSharp| over the largest |TorchSharp|, per output tensor.</summary>
    public const double FeatureTolerance = 1e-5;

    /// <summary>
    /// Both null, or float32 of the same shape with the largest absolute difference within <see cref="FeatureTolerance"/>
    /// of the largest absolute <paramref name="expected"/> value (which must not be 0); the figures go to the test log.
    /// </summary>
    public static void AssertClose(TestContext log, torch.Tensor? expected, torch.Tensor? actual, string what)
    {
        Assert.AreEqual(expected is null, actual is null, what);
        if (expected is null || actual is null) return;
        CollectionAssert.AreEqual(expected.shape, actual.shape, what);
        Assert.AreEqual(torch.ScalarType.Float32, actual.dtype);
        var scale = expected.abs().max().item<float>();
        var error = (actual - expected).abs().max().item<float>() / scale;
        log.WriteLine($"{what} [{string.Join(", ", expected.shape)}]: max abs value {scale:G4}, max abs error / max abs value {error:G3}");
        Assert.IsGreaterThan(0f, scale);
        Assert.IsLessThanOrEqualTo(FeatureTolerance, error, what);
    }
}
