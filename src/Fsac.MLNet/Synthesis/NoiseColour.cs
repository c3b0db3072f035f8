namespace Fsac.MLNet.Synthesis;

/// <summary>Whether noise is drawn per channel (coloured) or once per pixel (grey).</summary>
internal enum NoiseColour
{
    /// <summary>Grey noise for grey images (R = G = B everywhere, e.g. loaded greyscale files), coloured otherwise.</summary>
    Auto,

    /// <summary>Each channel drawn independently.</summary>
    Colour,

    /// <summary>One value per pixel, copied to the three channels.</summary>
    Grey,
}
