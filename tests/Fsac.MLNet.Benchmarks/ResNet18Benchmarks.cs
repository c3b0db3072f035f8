using Fsac.MLNet.Encoders;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using TorchSharp;

namespace Fsac.MLNet.Benchmarks;

/// <summary>
/// ResNet18 forward throughput (no gradient) on preprocessed 224x224 batches, in float32 and bfloat16,
/// with libtorch's default thread count and with one thread (each case runs in its own process).
/// Run: dotnet run -c Release --project tests/Fsac.MLNet.Benchmarks -- --filter '*ResNet18*' --job short
/// </summary>
[Config(typeof(ThroughputConfig))]
public class ResNet18Benchmarks
{
    private ResNet18Encoder _encoder = null!;
    private torch.Tensor _pixels = null!;

    [Params(1, 8)]
    public int Batch { get; set; }

    [Params(EncoderPrecision.Float32, EncoderPrecision.BFloat16)]
    public EncoderPrecision Precision { get; set; }

    /// <summary>libtorch intra-op threads; 0 keeps its default (one per core). One thread is far steadier on a shared machine.</summary>
    [Params(0, 1)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        if (Threads > 0) torch.set_num_threads(Threads);
        _encoder = ResNet18Encoder.LoadDefault(Precision);
        // Content does not change the work of dense convolutions; mean-subtracted pixels span about ±128.
        var generator = new torch.Generator(42);
        _pixels = torch.randn([Batch, 3, _encoder.ImageSize, _encoder.ImageSize], generator: generator).mul_(60);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pixels.Dispose();
        _encoder.Dispose();
    }

    [Benchmark]
    public long Encode()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        return _encoder.EncodeImage(_pixels).shape[0];
    }

    private sealed class ThroughputConfig : ManualConfig
    {
        public ThroughputConfig() => AddColumn(new ImagesPerSecondColumn());
    }
}
