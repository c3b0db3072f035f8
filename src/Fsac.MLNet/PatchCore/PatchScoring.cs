using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.PatchCore;

/// <summary>PatchCore's scoring steps on patch distances: from a patch grid's distances to one image score.</summary>
internal static class PatchScoring
{
    /// <summary>The image score: the mean of the <paramref name="topK"/> largest patch distances (1 = the max).</summary>
    public static float ImageScore(Tensor patchDistances, int topK)
    {
        ArgumentNullException.ThrowIfNull(patchDistances);
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        using var scope = NewDisposeScope();
        long k = Math.Min(topK, patchDistances.shape[0]);
        if (k == 1) return patchDistances.max().item<float>();
        return patchDistances.topk((int)k).values.mean().item<float>();
    }
}
