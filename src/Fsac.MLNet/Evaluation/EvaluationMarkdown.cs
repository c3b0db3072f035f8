using System.Globalization;
using System.Text;

namespace Fsac.MLNet.Evaluation;

/// <summary>
/// Renders an <see cref="EvaluationReport"/> as Markdown: the mean over categories laid out like the paper's Table 1
/// (k-shot × method rows; I-AUROC, I-AUPR, F1-max, and P-AUROC and AUPRO when some category has ground-truth masks),
/// one table per metric with every category, and the cost of each method. Metrics are percentages, mean ± std over
/// seeds (<see cref="EvaluationSummary"/>); the best mean of each setup is bold and – marks a missing value.
/// </summary>
public static class EvaluationMarkdown
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>The Markdown text (ends with a newline).</summary>
    public static string Render(EvaluationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var rows = EvaluationSummary.Summarize(report.Records);
        var categories = report.Records.Select(r => r.Category).Distinct().ToList();
        var methods = rows.Select(r => r.Method).Distinct().ToList();
        var shots = rows.Select(r => r.Shots).Distinct().Order().ToList();
        var seeds = report.Records.Select(r => r.Seed).Distinct().Count();
        var s = report.Settings;
        var md = new StringBuilder();
        md.AppendLine("# Few-shot anomaly classification: evaluation").AppendLine();
        if (!report.Complete) md.AppendLine($"**Stopped early: {report.Records.Count} run(s) finished; the tables cover those only.**").AppendLine();
        md.AppendLine($"- Backbone: `{s.Backbone}` ({s.FeatureDim}-d, {(s.TextTower ? "with" : "no")} text tower)");
        if (s.DataRoot is not null) md.AppendLine($"- Data: `{s.DataRoot}` ({s.Layout?.ToString().ToLowerInvariant()} layout), {categories.Count} categories");
        md.AppendLine($"- Protocol: k ∈ {{{string.Join(", ", s.Shots)}}} normal shots drawn per seed from the normal pool, seeds {{{string.Join(", ", s.Seeds)}}}, test on every other image");
        var f = s.Fsac;
        md.AppendLine(Invariant, $"- CLIP-FSAC: {f.EpochsPerStage} epochs per stage, lr {f.ImageLearningRate:G3}/{f.TextLearningRate:G3}, α {f.Alpha1:G3}/{f.Alpha2:G3}, β {f.Beta1:G3}/{f.Beta2:G3}, τ {f.ScoreTemperature:G3}, training temperature {f.TrainingTemperature:G3}, synthesis {f.SynthesisMethod} ({f.AnomaliesPerNormal} per shot), cross-attention {(f.UseCrossAttention ? "on" : "off")}");
        md.AppendLine($"- Values: percent, mean ± std over {seeds} seed(s) (std of the per-seed category mean for the mean rows)");
        if (report.Records.Any(r => r.PixelAuroc is not null || r.Aupro is not null))
        {
            var masked = report.Records.Where(r => r.PixelAuroc is not null || r.Aupro is not null).Select(r => r.Category).Distinct().Count();
            md.AppendLine($"- Pixel metrics (P-AUROC, AUPRO up to FPR 0.3): {masked} of {categories.Count} categories have ground-truth masks; the mean rows of these metrics average those only");
        }
        md.AppendLine();

        md.AppendLine($"## Mean over {categories.Count} categories (like the paper's Table 1)").AppendLine();
        var metrics = new List<(string Title, Func<SummaryRow, MeanStd?> Metric)> { ("I-AUROC", r => r.Auroc), ("I-AUPR", r => r.Aupr), ("F1-max", r => r.F1Max) };
        if (rows.Any(r => r.PixelAuroc is not null)) metrics.Add(("P-AUROC", r => r.PixelAuroc));
        if (rows.Any(r => r.Aupro is not null)) metrics.Add(("AUPRO", r => r.Aupro));
        md.AppendLine($"| Setup | Method | {string.Join(" | ", metrics.Select(m => m.Title))} |");
        md.AppendLine($"|---|---|{string.Concat(Enumerable.Repeat("---|", metrics.Count))}");
        foreach (var k in shots)
        {
            var setup = rows.Where(r => r.Shots == k && r.Category is null).ToList();
            foreach (var row in setup)
                md.AppendLine($"| {k}-shot | {row.Method} | {string.Join(" | ", metrics.Select(m => Cell(m.Metric(row), Best(setup, m.Metric))))} |");
        }
        md.AppendLine();

        foreach (var (title, metric) in metrics)
        {
            md.AppendLine($"## {title} per category").AppendLine();
            md.AppendLine($"| Setup | Method | {string.Join(" | ", categories)} | mean |");
            md.AppendLine($"|---|---|{string.Concat(Enumerable.Repeat("---|", categories.Count + 1))}");
            foreach (var k in shots)
                foreach (var method in methods)
                {
                    var cells = categories.Append(null).Select(c =>
                    {
                        var row = rows.FirstOrDefault(r => r.Method == method && r.Shots == k && r.Category == c);
                        if (row is null) return "–";
                        return Cell(metric(row), Best(rows.Where(r => r.Shots == k && r.Category == c), metric));
                    });
                    if (!rows.Any(r => r.Method == method && r.Shots == k)) continue;
                    md.AppendLine($"| {k}-shot | {method} | {string.Join(" | ", cells)} |");
                }
            md.AppendLine();
        }

        md.AppendLine("## Cost (mean over categories and seeds)").AppendLine();
        md.AppendLine("Fit: the whole fit, encoding of the shots (and synthetic anomalies) included. Score: loading and encoding one test image plus the method's head.").AppendLine();
        md.AppendLine("| Setup | Method | fit (s) | score (ms/image) |").AppendLine("|---|---|---|---|");
        foreach (var k in shots)
            foreach (var row in rows.Where(r => r.Shots == k && r.Category is null))
                md.AppendLine(Invariant, $"| {k}-shot | {row.Method} | {row.FitSeconds.Mean:F2} | {row.ScoreMsPerImage.Mean:F1} |");
        md.AppendLine();

        if (report.Notes.Count > 0)
        {
            md.AppendLine("## Notes").AppendLine();
            foreach (var note in report.Notes) md.AppendLine($"- {note}");
            md.AppendLine();
        }
        return md.ToString();
    }

    /// <summary>The highest mean of a metric over the rows that have it (−∞ when none has).</summary>
    private static double Best(IEnumerable<SummaryRow> rows, Func<SummaryRow, MeanStd?> metric)
        => rows.Select(metric).OfType<MeanStd>().Select(v => v.Mean).DefaultIfEmpty(double.NegativeInfinity).Max();

    private static string Cell(MeanStd? cell, double best)
    {
        if (cell is not { } value) return "–";
        var text = string.Format(Invariant, "{0:F1} ± {1:F1}", 100 * value.Mean, 100 * value.Std);
        return value.Mean >= best - 1e-12 ? $"**{text}**" : text;
    }
}
