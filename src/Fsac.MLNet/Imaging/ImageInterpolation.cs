namespace Fsac.MLNet.Imaging;

/// <summary>Resampling filter of the resize step, with PIL's kernels (OpenCLIP's <c>interpolation</c>).</summary>
public enum ImageInterpolation
{
    /// <summary>Cubic convolution, a = -0.5, support 2 (widened by the factor when shrinking): PIL's <c>BICUBIC</c>.</summary>
    Bicubic,

    /// <summary>Triangle filter, support 1 (widened by the factor when shrinking): PIL's <c>BILINEAR</c>.</summary>
    Bilinear,
}
