namespace Fsac.MLNet.Imaging;

/// <summary>How an image is fitted to the model's input size (OpenCLIP's <c>resize_mode</c>).</summary>
public enum ImageResizeMode
{
    /// <summary>Scale so the shorter side fits, then centre-crop the longer one (CLIP's default).</summary>
    Shortest,

    /// <summary>Scale so the longer side fits, then centre-pad the shorter one with the fill colour.</summary>
    Longest,

    /// <summary>Scale each side to the target independently, ignoring the aspect ratio.</summary>
    Squash,
}
