using Fsac.MLNet.Fitting;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.Fitting;

/// <summary>Random cached features where the anomalies are shifted away from the normals.</summary>
internal static class TrainerFixtures
{
    public static FeatureCache Cache(int shots, int poolSize, int dim, int seed)
    {
        using var scope = NewDisposeScope();
        var generator = new Generator((ulong)seed, CPU);
        var centre = randn([dim], generator: generator).mul(3);
        var shift = randn([dim], generator: generator).mul(2);
        var normals = randn([shots, dim], generator: generator).add(centre);
        var pool = randn([shots, poolSize, dim], generator: generator).add(centre).add(shift);
        var anchors = randn([2, dim], generator: generator);
        return new FeatureCache(normals, pool, anchors);
    }

    public static Dictionary<string, byte[]> Snapshot(torch.nn.Module module)
        => module.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.cpu().contiguous().bytes.ToArray());
}
