using SixLabors.ImageSharp;

namespace Fsac.MLNet.Synthesis;

/// <summary>One region a synthesizer placed: noise, a pasted patch or a blended patch.</summary>
/// <param name="Bounds">
/// The placed rectangle in the anomalous image (for a rotated scar, its bounding box). Only pixels inside it can
/// change; with a foreground mask or Poisson blending some of them may stay as they were.
/// </param>
/// <param name="SourceBounds">Where the patch was cut in its source image; null for noise.</param>
/// <param name="SourceIndex">
/// Index of the patch's source in <see cref="SynthesisContext.Sources"/>, or -1 for the normal image itself (and for noise).
/// </param>
public sealed record SynthesizedRegion(Rectangle Bounds, Rectangle? SourceBounds = null, int SourceIndex = -1);
