using Fsac.MLNet.Encoders;
using System.Text;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.TestDoubles;

/// <summary>
/// A small fixed-seed CLIP stand-in over 32x32 inputs: one random 5x5 convolution, ReLU, global max and mean
/// pooling, a random projection to <see cref="FeatureDim"/>. Texts map to seeded random vectors (stable hash).
/// </summary>
public sealed class TinyEncoder : IImageEncoder, ITextEncoder
{
    private const int Channels = 24;
    private readonly Tensor convWeight;
    private readonly Tensor convBias;
    private readonly Tensor projection;

    public TinyEncoder(int featureDim = 32, int seed = 7, string name = "tiny-test-encoder")
    {
        FeatureDim = featureDim;
        Name = name;
        using var generator = new Generator((ulong)seed, CPU);
        using var w = randn([Channels, 3, 5, 5], generator: generator);
        convWeight = w.mul(0.2);
        using var b = randn([Channels], generator: generator);
        convBias = b.mul(0.1);
        using var p = randn([2 * Channels, featureDim], generator: generator);
        projection = p.mul(1.0 / Math.Sqrt(2 * Channels));
    }

    public string Name { get; }
    public int FeatureDim { get; }
    public int ImageSize => 32;
    public int PatchDim => Channels;
    public InputLayout Layout(int width, int height) => new(ImageSize, ImageSize, new RectangleF(0, 0, width, height));
    public IImageEncoder WithResolution(int shorterSide) => throw new NotSupportedException("The tiny test encoder has a fixed 32x32 input.");

    /// <summary>Number of EncodeImage calls (to check that features are cached).</summary>
    public int ImageBatchesEncoded { get; private set; }

    public Tensor Preprocess(IReadOnlyList<Image<Rgb24>> images)
    {
        var data = new float[images.Count * 3 * ImageSize * ImageSize];
        int plane = ImageSize * ImageSize;
        for (int n = 0; n < images.Count; n++)
        {
            using var resized = images[n].Clone(c => c.Resize(ImageSize, ImageSize));
            for (int y = 0; y < ImageSize; y++)
                for (int x = 0; x < ImageSize; x++)
                {
                    var px = resized[x, y];
                    int o = n * 3 * plane + y * ImageSize + x;
                    data[o] = px.R / 127.5f - 1f;
                    data[o + plane] = px.G / 127.5f - 1f;
                    data[o + 2 * plane] = px.B / 127.5f - 1f;
                }
        }
        return tensor(data, [images.Count, 3, ImageSize, ImageSize]);
    }

    /// <summary>Pooled: max and mean of the ReLU map, projected; patches: the ReLU map average-pooled to 8x8.</summary>
    public EncodedImages Encode(Tensor pixels, EncoderOutputs outputs)
    {
        ImageBatchesEncoded++;
        using var scope = NewDisposeScope();
        var h = nn.functional.conv2d(pixels, convWeight, convBias, padding: [2, 2]).relu();
        var pooled = outputs.HasFlag(EncoderOutputs.Global)
            ? cat([h.amax([2, 3]), h.mean([2, 3])], 1).matmul(projection).MoveToOuterDisposeScope()
            : null;
        var patches = outputs.HasFlag(EncoderOutputs.Patches) ? nn.functional.avg_pool2d(h, 4, 4).MoveToOuterDisposeScope() : null;
        return new EncodedImages(pooled, patches);
    }

    public Tensor EncodeText(IReadOnlyList<string> texts)
    {
        using var scope = NewDisposeScope();
        var rows = texts.Select(t =>
        {
            using var generator = new Generator(Fnv1a(t), CPU);
            return randn([FeatureDim], generator: generator);
        }).ToList();
        return stack(rows, 0).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        convWeight.Dispose();
        convBias.Dispose();
        projection.Dispose();
    }

    private static ulong Fnv1a(string text)
    {
        ulong hash = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(text))
            hash = (hash ^ b) * 1099511628211UL;
        return hash;
    }
}
