using System.Numerics;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Encoders;

/// <summary>
/// Cuts a frozen (gradient-free) encoding of many images into passes of a few images, so that no activation of one
/// pass outgrows <see cref="ActivationBudgetBytes"/>. glibc gives a block above its mmap threshold (which follows the
/// largest block freed, up to 32 MiB) fresh pages from the system and unmaps them when it is freed, so a large pass
/// page-faults its activations in anew every time. On a 2-core AMD EPYC, ResNet18 on TorchSharp took 47 ms per image in
/// passes of 16 (2,900 page faults per image; the stem's output is 51 MB) and 22.5 ms in passes of 8 (none); ONNX
/// Runtime took 19.8 ms and 13.5 ms in passes of 16 and 4; the bfloat16 ViT-B-16-plus-240 took 157 ms and 98 ms in
/// passes of 16 and 8.
/// </summary>
internal static class FrozenPasses
{
    /// <summary>The most bytes that the largest activation of one pass may take: half of glibc's 32 MiB mmap ceiling.</summary>
    public const long ActivationBudgetBytes = 16L << 20;

    /// <summary>
    /// Images per pass for a network whose largest activation takes <paramref name="largestActivationBytes"/> per image:
    /// the largest power of two within <see cref="ActivationBudgetBytes"/> (matrix kernels favour it), at least 1.
    /// </summary>
    public static int ImagesPerPass(long largestActivationBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(largestActivationBytes, 1);
        long fit = Math.Max(1, ActivationBudgetBytes / largestActivationBytes);
        return 1 << BitOperations.Log2((ulong)fit);
    }

    /// <summary>
    /// <paramref name="encode"/> over <paramref name="pixels"/> <c>[N, ...]</c> in passes of at most
    /// <paramref name="imagesPerPass"/> images, the results gathered into tensors of N rows allocated once (one pass:
    /// <paramref name="encode"/>'s own result). The results belong to the caller's dispose scope.
    /// </summary>
    public static EncodedImages Encode(Tensor pixels, int imagesPerPass, Func<Tensor, EncodedImages> encode)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(imagesPerPass, 1);
        long n = pixels.shape[0];
        if (n <= imagesPerPass) return encode(pixels);
        Tensor? global = null, patches = null;
        try
        {
            for (long start = 0; start < n; start += imagesPerPass)
            {
                using var scope = NewDisposeScope();
                long count = Math.Min(imagesPerPass, n - start);
                var part = encode(pixels.narrow(0, start, count));
                global = Gather(global, part.Global, n, start, count);
                patches = Gather(patches, part.Patches, n, start, count);
            }
        }
        catch
        {
            global?.Dispose();
            patches?.Dispose();
            throw;
        }
        return new EncodedImages(global, patches);
    }

    // Copies one pass's rows into the gathered tensor, which the first pass allocates in the caller's scope.
    private static Tensor? Gather(Tensor? gathered, Tensor? part, long n, long start, long count)
    {
        if (part is null) return gathered;
        gathered ??= empty([n, .. part.shape[1..]], part.dtype).MoveToOuterDisposeScope();
        gathered.narrow(0, start, count).copy_(part);
        return gathered;
    }
}
