namespace Fsac.MLNet.Encoders;

/// <summary>Which features one forward pass of an <see cref="IImageEncoder"/> returns.</summary>
[Flags]
public enum EncoderOutputs
{
    /// <summary>One pooled vector per image, <c>[N, D]</c> (<see cref="IImageEncoder.FeatureDim"/>).</summary>
    Global = 1,

    /// <summary>A grid of local features per image, <c>[N, C, h, w]</c> (<see cref="IImageEncoder.PatchDim"/>).</summary>
    Patches = 2,

    /// <summary>Both, from the same pass.</summary>
    Both = Global | Patches,
}
