namespace Fsac.MLNet.Synthesis;

/// <summary>The two CutPaste variants of Li et al. (CVPR 2021).</summary>
internal enum CutPasteMode
{
    /// <summary>"CutPaste": a rectangle of 2-15 % of the image area, any aspect ratio in [0.3, 3.3].</summary>
    Rectangle,

    /// <summary>"CutPaste-Scar": a thin rectangle (2-16 by 10-25 pixels at 256x256), rotated by up to 45 degrees.</summary>
    Scar,
}
