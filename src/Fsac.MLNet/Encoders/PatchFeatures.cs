using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Encoders;

/// <summary>The patch grid of one image and where it sits on that image.</summary>
/// <param name="Rows">Grid rows h.</param>
/// <param name="Columns">Grid columns w.</param>
/// <param name="Layout">The encoder input the grid covers, and the region of the image that input shows.</param>
/// <param name="ImageWidth">Width of the original image.</param>
/// <param name="ImageHeight">Height of the original image.</param>
public readonly record struct PatchGrid(int Rows, int Columns, InputLayout Layout, int ImageWidth, int ImageHeight)
{
    /// <summary>Patches in the grid, h·w.</summary>
    public int Count => Rows * Columns;
}

/// <summary>
/// The patch features of several images, which may have grids of different sizes: <see cref="Values"/> holds every
/// patch as a row <c>[P, C]</c> (image 0's patches in row-major grid order, then image 1's, ...), and
/// <see cref="Grids"/> says which rows belong to which image and where each grid sits on its image. Owns
/// <see cref="Values"/>.
/// </summary>
public sealed class PatchFeatures : IDisposable
{
    private readonly int[] offsets;

    /// <summary>Takes ownership of <paramref name="values"/> (detached from any dispose scope).</summary>
    /// <exception cref="ArgumentException">The rows do not add up to the grids.</exception>
    public PatchFeatures(Tensor values, IReadOnlyList<PatchGrid> grids)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(grids);
        offsets = new int[grids.Count + 1];
        for (int i = 0; i < grids.Count; i++) offsets[i + 1] = checked(offsets[i] + grids[i].Count);
        if (values.ndim != 2 || values.shape[0] != offsets[^1])
            throw new ArgumentException($"Patch rows [{string.Join(", ", values.shape)}] do not match the {offsets[^1]} patches of the grids.", nameof(values));
        Values = values.DetachFromDisposeScope();
        Grids = grids;
    }

    /// <summary>Every patch feature, <c>[P, C]</c> float32.</summary>
    public Tensor Values { get; }

    /// <summary>One grid per image.</summary>
    public IReadOnlyList<PatchGrid> Grids { get; }

    /// <summary>Number of images.</summary>
    public int Count => Grids.Count;

    /// <summary>Channels C.</summary>
    public long Channels => Values.shape[1];

    /// <summary>Row of the first patch of image <paramref name="image"/>.</summary>
    public int Offset(int image) => offsets[image];

    /// <summary>The patches of image <paramref name="image"/>, <c>[h·w, C]</c> (a view; the caller's scope owns it).</summary>
    public Tensor Of(int image) => Values.narrow(0, offsets[image], Grids[image].Count);

    /// <summary>The images at <paramref name="indices"/>, in that order, as new features.</summary>
    public PatchFeatures Select(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        using var scope = NewDisposeScope();
        var parts = indices.Select(Of).ToList();
        var values = parts.Count == 0 ? zeros(0, Channels) : cat(parts, 0);
        return new PatchFeatures(values, [.. indices.Select(i => Grids[i])]);
    }

    /// <summary>Joins several sets in order into new features (the parts are not disposed).</summary>
    public static PatchFeatures Concat(IReadOnlyList<PatchFeatures> parts, long channels)
    {
        ArgumentNullException.ThrowIfNull(parts);
        using var scope = NewDisposeScope();
        var values = parts.Count == 0 ? zeros(0, channels) : cat([.. parts.Select(p => p.Values)], 0);
        return new PatchFeatures(values, [.. parts.SelectMany(p => p.Grids)]);
    }

    /// <inheritdoc />
    public void Dispose() => Values.Dispose();
}
