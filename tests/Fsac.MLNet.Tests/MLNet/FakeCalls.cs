using Fsac.MLNet;

namespace Fsac.MLNet.Tests.MLNet;

/// <summary>Thread-safe counters of what the fakes were asked to do.</summary>
public sealed class FakeCalls
{
    private int _resolves, _fits, _scoreCalls, _scoredImages, _maps;

    public int Resolves => Volatile.Read(ref _resolves);
    public int Fits => Volatile.Read(ref _fits);
    public int ScoreCalls => Volatile.Read(ref _scoreCalls);
    public int ScoredImages => Volatile.Read(ref _scoredImages);
    public int Maps => Volatile.Read(ref _maps);

    /// <summary>Mean brightness of each shot of the last fit, in the order given.</summary>
    public IReadOnlyList<float> LastShots { get; set; } = [];

    /// <summary>Options the resolver last saw.</summary>
    public FewShotAnomalyOptions? LastOptions { get; set; }

    public void CountResolve() => Interlocked.Increment(ref _resolves);
    public void CountFit() => Interlocked.Increment(ref _fits);
    public void CountMap() => Interlocked.Increment(ref _maps);

    public void CountScore(int images)
    {
        Interlocked.Increment(ref _scoreCalls);
        Interlocked.Add(ref _scoredImages, images);
    }
}
