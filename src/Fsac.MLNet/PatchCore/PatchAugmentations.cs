namespace Fsac.MLNet.PatchCore;

/// <summary>
/// Transformed copies of the normal shots added to a patch memory. They help parts that may appear flipped or
/// rotated (solar cells, boards, textures) and hurt oriented objects, where a rotated part is an anomaly.
/// </summary>
[Flags]
public enum PatchAugmentations
{
    /// <summary>The shots as they are.</summary>
    None = 0,

    /// <summary>Mirrored left to right.</summary>
    HorizontalFlip = 1,

    /// <summary>Mirrored top to bottom.</summary>
    VerticalFlip = 2,

    /// <summary>Rotated by 90°, 180° and 270°.</summary>
    Rotations = 4,

    /// <summary>Both flips.</summary>
    Flips = HorizontalFlip | VerticalFlip,

    /// <summary>Both flips and the three rotations.</summary>
    All = Flips | Rotations,
}
