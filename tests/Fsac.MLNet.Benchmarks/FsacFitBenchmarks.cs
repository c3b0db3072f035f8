using Fsac.MLNet.Fitting;
using Fsac.MLNet.Head;
using BenchmarkDotNet.Attributes;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Benchmarks;

/// <summary>
/// CLIP-FSAC on cached features (the encoders are frozen, so a fit never touches them): a full two-stage fit
/// (head initialisation + 2 × 100 epochs) for k = 1, 2, 4 shots with C = 640 (ViT-B-16-plus-240) and M = 8 cached
/// anomalies per shot, and the head's cost of scoring one image, alone or amortised over a batch of 32.
/// Run: <c>dotnet run -c Release --project tests/Fsac.MLNet.Benchmarks -- --filter '*FsacFit*'</c>
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class FsacFitBenchmarks
{
    private const int FeatureDim = 640;
    private const int PoolSize = 8;
    private const int ScoringBatch = 32;

    private readonly FsacOptions options = FsacPreset.MVTec;
    private FeatureCache cache = null!;
    private FsacHead head = null!;
    private Tensor psi = null!;
    private Tensor oneImage = null!;
    private Tensor batch = null!;

    /// <summary>Number of normal shots k (the training batch size).</summary>
    [Params(1, 2, 4)]
    public int Shots { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        using var scope = NewDisposeScope();
        var generator = new Generator(42, CPU);
        var normals = randn([Shots, FeatureDim], generator: generator);
        var pool = randn([Shots, PoolSize, FeatureDim], generator: generator).add(0.5);
        var anchors = randn([2, FeatureDim], generator: generator);
        cache = new FeatureCache(normals, pool, anchors);
        head = new FsacHead(FeatureDim, options);
        using (no_grad())
            psi = head.AdaptText(cache.Anchors).DetachFromDisposeScope();
        oneImage = randn([1, FeatureDim], generator: generator).DetachFromDisposeScope();
        batch = randn([ScoringBatch, FeatureDim], generator: generator).DetachFromDisposeScope();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        cache.Dispose();
        head.Dispose();
        psi.Dispose();
        oneImage.Dispose();
        batch.Dispose();
    }

    /// <summary>A complete two-stage fit on the cached features.</summary>
    [Benchmark]
    public TrainingHistory Fit()
    {
        using var fresh = new FsacHead(FeatureDim, options);
        return new HeadTrainer(options).Train(fresh, cache, new Random(0));
    }

    /// <summary>Head cost of scoring a single image feature.</summary>
    [Benchmark]
    public float ScoreOneImage()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return head.Score(oneImage, psi, options.ScoreTemperature).item<float>();
    }

    /// <summary>Head cost per image when scoring a batch of 32.</summary>
    [Benchmark(OperationsPerInvoke = ScoringBatch)]
    public float ScorePerImageInBatch()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return head.Score(batch, psi, options.ScoreTemperature).sum().item<float>();
    }
}
