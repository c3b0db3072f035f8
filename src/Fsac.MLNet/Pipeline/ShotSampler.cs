using Microsoft.ML;
using Microsoft.ML.Runtime;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Pipeline;

/// <summary>
/// Picks the normal shots of a training data view: rows whose label is false (all rows without a label column),
/// a seeded sample of <see cref="FewShotAnomalyOptions.Shots"/> when there are more, decoded in row order. The
/// choice is logged to the channel. Only the chosen images are decoded.
/// </summary>
internal static class ShotSampler
{
    /// <param name="data">The training data.</param>
    /// <param name="image">Its image column (validated).</param>
    /// <param name="kind">The image column's form.</param>
    /// <param name="label">Its Boolean label column, or null.</param>
    /// <param name="options">Shots and the label column's name.</param>
    /// <param name="random">Source of the sample.</param>
    /// <param name="channel">Receives the choice.</param>
    /// <param name="cancellationToken">Stops reading.</param>
    public static List<Image<Rgb24>> Sample(IDataView data, DataViewSchema.Column image, ImageSourceKind kind,
        DataViewSchema.Column? label, FewShotAnomalyOptions options, Random random, IChannel channel,
        CancellationToken cancellationToken)
    {
        if (label is null && options.LabelColumnName is { } missing)
            channel.Info(MessageSensitivity.Schema, $"FewShotAnomaly: no label column '{missing}' in the training data; every row is taken as normal.");

        var (normal, total) = NormalRows(data, label, cancellationToken);
        if (normal.Count == 0)
        {
            throw new InvalidOperationException(total == 0
                ? $"FewShotAnomaly cannot fit: the training data has no rows (image column '{image.Name}')."
                : $"FewShotAnomaly cannot fit: none of the {total} rows is normal (label column '{label!.Value.Name}' is " +
                  "true, i.e. anomalous, in every row); at least one row labelled false is needed.");
        }
        if (normal.Count < options.Shots)
            channel.Warning(MessageSensitivity.None, $"FewShotAnomaly: only {normal.Count} normal rows for {options.Shots} shots; fitting on all of them.");

        var chosen = Choose(normal, options.Shots, random);
        var images = Decode(data, image, kind, chosen, cancellationToken, out var described);
        channel.Info(MessageSensitivity.UserData, $"FewShotAnomaly: {chosen.Count} shots from {normal.Count} normal rows (of {total}): {string.Join(", ", described)}.");
        return images;
    }

    /// <summary>Every normal row's image (label false, or every row without a label column), decoded in row order.</summary>
    /// <exception cref="InvalidOperationException">No row is normal.</exception>
    public static List<Image<Rgb24>> AllNormal(IDataView data, DataViewSchema.Column image, ImageSourceKind kind,
        DataViewSchema.Column? label, CancellationToken cancellationToken)
    {
        var (normal, total) = NormalRows(data, label, cancellationToken);
        if (normal.Count == 0)
            throw new InvalidOperationException($"FewShotAnomaly has nothing to add: none of the {total} rows is normal (image column '{image.Name}').");
        return Decode(data, image, kind, normal, cancellationToken, out _);
    }

    private static (List<long> Normal, long Total) NormalRows(IDataView data, DataViewSchema.Column? label,
        CancellationToken cancellationToken)
    {
        var normal = new List<long>();
        long row = 0;
        using var cursor = data.GetRowCursor(label is { } l ? [l] : []);
        var getter = label is { } c ? cursor.GetGetter<bool>(c) : null;
        var anomalous = false;
        for (; cursor.MoveNext(); row++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            getter?.Invoke(ref anomalous);
            if (!anomalous) normal.Add(row);
        }
        return (normal, row);
    }

    /// <summary>A uniform sample without replacement (partial Fisher–Yates), in row order.</summary>
    private static List<long> Choose(List<long> normal, int shots, Random random)
    {
        var pool = normal.ToArray();
        var count = Math.Min(shots, pool.Length);
        for (var i = 0; i < count; i++)
        {
            var j = random.Next(i, pool.Length);
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }
        return pool.Take(count).Order().ToList();
    }

    private static List<Image<Rgb24>> Decode(IDataView data, DataViewSchema.Column image, ImageSourceKind kind,
        List<long> chosen, CancellationToken cancellationToken, out List<string> described)
    {
        var images = new List<Image<Rgb24>>(chosen.Count);
        described = new List<string>(chosen.Count);
        try
        {
            using var cursor = data.GetRowCursor([image]);
            var reader = new ImageReader(cursor, image, kind);
            for (long row = 0; images.Count < chosen.Count && cursor.MoveNext(); row++)
            {
                if (row != chosen[images.Count]) continue;
                cancellationToken.ThrowIfCancellationRequested();
                images.Add(reader.Read());
                described.Add(reader.LastFile is { } file ? $"row {row} ('{file}')" : $"row {row}");
            }
            return images;
        }
        catch
        {
            foreach (var decoded in images) decoded.Dispose();
            throw;
        }
    }
}
