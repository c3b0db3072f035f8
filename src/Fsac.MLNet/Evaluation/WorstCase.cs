using Fsac.MLNet.Visualisation;

namespace Fsac.MLNet.Evaluation;

/// <summary>
/// A test image a diagnostic run got most wrong (a low-scored anomaly or a high-scored normal) with its saliency map
/// (|∂score/∂pixel|, §3.5), to draw with <see cref="Visualisation.SaliencyOverlay"/>.
/// </summary>
/// <param name="Path">The image file.</param>
/// <param name="IsAnomaly">Its label.</param>
/// <param name="Score">Its anomaly score.</param>
/// <param name="Rank">1 for the worst of its class, 2 for the next, ...</param>
/// <param name="Width">Image width, the map's too.</param>
/// <param name="Height">Image height, the map's too.</param>
/// <param name="Saliency">The map, row-major (<c>[y * Width + x]</c>).</param>
public sealed record WorstCase(string Path, bool IsAnomaly, float Score, int Rank, int Width, int Height, float[] Saliency);
