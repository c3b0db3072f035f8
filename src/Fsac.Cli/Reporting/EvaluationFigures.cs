using Fsac.MLNet.Evaluation;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Metrics;
using Fsac.MLNet.Visualisation;
using System.Globalization;
using Fsac.Cli.Outputs;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace Fsac.Cli.Reporting;

/// <summary>
/// The pictures of one category's diagnostic run: score histograms of every method (<c>scores.png</c>), the
/// training checkpoints like the paper's Fig. 7 (<c>epochs.png</c>) and saliency overlays of the worst cases
/// (<c>heatmaps/*.png</c> and the contact sheet <c>heatmaps.png</c>).
/// </summary>
public static class EvaluationFigures
{
    private const int PanelWidth = 440, PanelHeight = 300, Header = 34, Bins = 30;
    private static readonly Rgb24 NormalColour = new(31, 119, 180);
    private static readonly Rgb24 AnomalyColour = new(214, 39, 40);
    private static readonly Rgb24 LossColour = new(44, 160, 44);
    private static readonly Rgb24 Ink = new(30, 30, 30);
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Writes every picture of <paramref name="run"/> into <paramref name="folder"/> and returns the files written.</summary>
    public static IReadOnlyList<string> Write(RunDiagnostics run, string folder)
    {
        ArgumentNullException.ThrowIfNull(run);
        Directory.CreateDirectory(folder);
        var written = new List<string>();
        if (run.Scores.Count > 0) written.Add(WriteScoreHistograms(run, Path.Combine(folder, "scores.png")));
        if (run.Training is { Checkpoints.Count: > 0 }) written.Add(WriteEpochs(run, Path.Combine(folder, "epochs.png")));
        if (run.WorstCases.Count > 0) written.AddRange(WriteHeatmaps(run, folder));
        return written;
    }

    /// <summary>One histogram panel per method: normal and anomalous test scores of the run.</summary>
    public static string WriteScoreHistograms(RunDiagnostics run, string path)
    {
        int columns = Math.Min(3, run.Scores.Count), rows = (run.Scores.Count + columns - 1) / columns;
        using var canvas = new RasterCanvas(columns * PanelWidth, Header + rows * PanelHeight);
        canvas.TextCentred(canvas.Width / 2, 8, $"{run.Category}: test scores, k={run.Shots}, seed {run.Seed}", Ink, 2);
        int i = 0;
        foreach (var (method, scores) in run.Scores)
        {
            var auroc = ImageMetrics.Auroc(scores, run.Labels);
            HistogramPanel(canvas, (i % columns) * PanelWidth, Header + (i / columns) * PanelHeight,
                string.Create(Invariant, $"{method}  AUROC {100 * auroc:F1}"), scores, run.Labels, Range(scores));
            i++;
        }
        canvas.SavePng(path);
        return path;
    }

    /// <summary>
    /// The paper's Fig. 7 for the traced CLIP-FSAC fit: score histograms before training and at about a third, two
    /// thirds and the end of training, then the test AUROC at every checkpoint and the training loss per epoch.
    /// </summary>
    public static string WriteEpochs(RunDiagnostics run, string path)
    {
        var curve = run.Training!;
        var picks = PickCheckpoints(curve.Checkpoints);
        int columns = Math.Max(picks.Count, 2);
        using var canvas = new RasterCanvas(columns * PanelWidth, Header + 2 * PanelHeight);
        canvas.TextCentred(canvas.Width / 2, 8,
            $"{run.Category}: {curve.Method} during training, k={run.Shots}, seed {run.Seed} (test scores, for reporting only)", Ink, 2);
        var range = Range(picks.SelectMany(c => c.Scores).ToArray());
        for (int i = 0; i < picks.Count; i++)
            HistogramPanel(canvas, i * PanelWidth, Header, string.Create(Invariant, $"epoch {picks[i].Epoch}  AUROC {100 * picks[i].Auroc:F1}"),
                [.. picks[i].Scores], run.Labels, range);

        int wide = columns * PanelWidth / 2;
        var epochs = curve.Checkpoints.Select(c => (double)c.Epoch).ToArray();
        var aurocs = curve.Checkpoints.Select(c => 100 * c.Auroc).ToArray();
        var aurocPanel = new ChartPanel(canvas, 0, Header + PanelHeight, wide, PanelHeight, "test I-AUROC per checkpoint",
            (0, Math.Max(1, epochs.Max())), (Math.Floor(Math.Min(50, aurocs.Min()) / 10) * 10, 100), "epoch", "I-AUROC %");
        aurocPanel.Polyline(epochs, aurocs, AnomalyColour, markers: true);

        var losses = curve.History.Stages.SelectMany(s => s.Losses).Select(l => (double)l).ToArray();
        if (losses.Length > 0)
        {
            var finite = losses.Where(double.IsFinite).DefaultIfEmpty(0).ToArray();
            var lossPanel = new ChartPanel(canvas, wide, Header + PanelHeight, wide, PanelHeight, "training loss",
                (0, Math.Max(1, losses.Length)), (Math.Min(0, finite.Min()), finite.Max() * 1.05), "epoch", "loss");
            lossPanel.Polyline([.. Enumerable.Range(1, losses.Length).Select(e => (double)e)], losses, LossColour);
            int boundary = 0;
            foreach (var stage in curve.History.Stages.SkipLast(1))
            {
                boundary += stage.Losses.Count;
                lossPanel.VerticalMarker(boundary, Ink);
            }
            lossPanel.Legend([.. curve.History.Stages.Select(s => (string.Create(Invariant, $"{s.Stage}: {s.Losses.Count} epochs"), LossColour))]);
        }
        canvas.SavePng(path);
        return path;
    }

    /// <summary>
    /// Saliency overlays of the worst cases (<c>heatmaps/anomaly-1.png</c>: the lowest-scored anomaly,
    /// <c>heatmaps/normal-1.png</c>: the highest-scored normal, ...) and a captioned contact sheet <c>heatmaps.png</c>.
    /// </summary>
    public static IReadOnlyList<string> WriteHeatmaps(RunDiagnostics run, string folder)
    {
        const int tile = 240, caption = 34;
        var dir = Path.Combine(folder, "heatmaps");
        Directory.CreateDirectory(dir);
        var written = new List<string>();
        var rows = run.WorstCases.GroupBy(c => c.IsAnomaly).OrderByDescending(g => g.Key).ToList();
        int columns = rows.Max(g => g.Count());
        using var sheet = new RasterCanvas(columns * (tile + 10) + 10, Header + rows.Count * (tile + caption + 10));
        sheet.TextCentred(sheet.Width / 2, 8, $"{run.Category}: worst cases of {run.WorstCasesMethod ?? run.Training?.Method ?? "the run"}, k={run.Shots}, seed {run.Seed}", Ink, 2);
        for (int r = 0; r < rows.Count; r++)
        {
            int c = 0;
            foreach (var item in rows[r].OrderBy(x => x.Rank))
            {
                using var original = ImageLoader.Default.Load(item.Path);
                using var overlay = SaliencyOverlay.Render(original, item.Saliency);
                var file = Path.Combine(dir, $"{(item.IsAnomaly ? "anomaly" : "normal")}-{item.Rank}.png");
                OutputFile.WritePng(file, overlay);
                written.Add(file);

                using var thumbnail = overlay.Clone(x => x.Resize(new ResizeOptions { Size = new Size(tile, tile), Mode = ResizeMode.Max }));
                int left = 10 + c * (tile + 10), top = Header + r * (tile + caption + 10);
                sheet.Paste(thumbnail, left + (tile - thumbnail.Width) / 2, top + (tile - thumbnail.Height) / 2);
                var label = item.IsAnomaly ? $"anomaly, lowest #{item.Rank}" : $"normal, highest #{item.Rank}";
                sheet.Text(left, top + tile + 4, string.Create(Invariant, $"{label}: {item.Score:G4}"), item.IsAnomaly ? AnomalyColour : NormalColour);
                sheet.Text(left, top + tile + 17, Shorten(Path.GetFileName(item.Path), tile / PixelFont.Advance), Ink);
                c++;
            }
        }
        var sheetPath = Path.Combine(folder, "heatmaps.png");
        sheet.SavePng(sheetPath);
        written.Insert(0, sheetPath);
        return written;
    }

    private static void HistogramPanel(RasterCanvas canvas, int x, int y, string title, IReadOnlyList<float> scores, IReadOnlyList<bool> labels,
        (double Min, double Max) range)
    {
        var normal = scores.Where((_, i) => !labels[i]).ToList();
        var anomalous = scores.Where((_, i) => labels[i]).ToList();
        var normalCounts = ChartPanel.Histogram(normal, range.Min, range.Max, Bins);
        var anomalyCounts = ChartPanel.Histogram(anomalous, range.Min, range.Max, Bins);
        double top = Math.Max(1, Math.Max(normalCounts.Max(), anomalyCounts.Max()) * 1.1);
        var panel = new ChartPanel(canvas, x, y, PanelWidth, PanelHeight, title, range, (0, top), "anomaly score", "images");
        var edges = Enumerable.Range(0, Bins + 1).Select(b => range.Min + (range.Max - range.Min) * b / Bins).ToArray();
        panel.Bars(edges, normalCounts, NormalColour, 0.55f);
        panel.Bars(edges, anomalyCounts, AnomalyColour, 0.55f);
        panel.Legend([($"normal ({normal.Count})", NormalColour), ($"anomalous ({anomalous.Count})", AnomalyColour)]);
    }

    /// <summary>Before training, about a third, two thirds, and the last checkpoint (distinct, in order).</summary>
    private static List<EpochCheckpoint> PickCheckpoints(IReadOnlyList<EpochCheckpoint> checkpoints)
    {
        int last = checkpoints[^1].Epoch;
        return [.. new[] { 0.0, 1 / 3.0, 2 / 3.0, 1.0 }
            .Select(f => checkpoints.MinBy(c => Math.Abs(c.Epoch - f * last))!)
            .Distinct()];
    }

    private static (double, double) Range(IReadOnlyCollection<float> scores)
    {
        double min = scores.Min(), max = scores.Max(), pad = (max - min) * 0.02;
        return (min - pad, max + pad);
    }

    private static string Shorten(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max - 2), "..");
}
