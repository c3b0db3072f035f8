namespace Fsac.MLNet.Encoders.Clip;

/// <summary>One published set of CLIP weights: where OpenCLIP's registry says to fetch it, and how to check it.</summary>
/// <param name="Model">OpenCLIP architecture name, e.g. <c>ViT-B-16-plus-240</c>.</param>
/// <param name="Tag">Pretraining tag, e.g. <c>laion400m_e32</c>.</param>
/// <param name="Url">Download address.</param>
/// <param name="Sha256">
/// Published SHA-256 as lower-case hex: the full digest, or the prefix OpenCLIP's release file names carry;
/// null when none is published (the hash is then computed and stored beside the file after the first download).
/// </param>
/// <param name="QuickGelu">True when the weights were trained with QuickGELU (OpenAI's models) instead of GELU.</param>
/// <param name="ImageMean">Per-channel RGB mean of the image normalisation the weights were trained with.</param>
/// <param name="ImageStd">Per-channel RGB standard deviation of that normalisation.</param>
public sealed record ClipPretrainedWeights(
    string Model,
    string Tag,
    Uri Url,
    string? Sha256,
    bool QuickGelu,
    IReadOnlyList<float> ImageMean,
    IReadOnlyList<float> ImageStd)
{
    /// <summary>The file name, from the last segment of <see cref="Url"/>.</summary>
    public string FileName => Uri.UnescapeDataString(Url.Segments[^1]);
}
