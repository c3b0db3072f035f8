using Fsac.MLNet.Encoders;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;

namespace Fsac.MLNet.Tests.TestDoubles;

/// <summary>The <see cref="TinyEncoder"/>'s image tower alone: a backbone without a text tower (like ResNet18).</summary>
public sealed class ImageOnlyEncoder(TinyEncoder inner) : IImageEncoder
{
    public string Name => "image-only-" + inner.Name;
    public int FeatureDim => inner.FeatureDim;
    public int ImageSize => inner.ImageSize;
    public torch.Tensor Preprocess(IReadOnlyList<Image<Rgb24>> images) => inner.Preprocess(images);
    public int PatchDim => inner.PatchDim;
    public InputLayout Layout(int width, int height) => inner.Layout(width, height);
    public EncodedImages Encode(torch.Tensor pixels, EncoderOutputs outputs) => inner.Encode(pixels, outputs);
    public IImageEncoder WithResolution(int shorterSide) => inner.WithResolution(shorterSide);
    public void Dispose() => inner.Dispose();
}
