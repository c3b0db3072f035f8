using Fsac.MLNet.Evaluation;
using System.Globalization;
using System.Text;
using Fsac.Cli.Outputs;

namespace Fsac.Cli.Reporting;

/// <summary>
/// Writes what <c>fsac eval</c> produces into its output folder: <c>results.json</c> (<see cref="EvaluationJson"/>),
/// <c>results.md</c> (<see cref="EvaluationMarkdown"/> plus a list of the figures) and, per category,
/// <c>categories/&lt;name&gt;/</c> with the figures of <see cref="EvaluationFigures"/>. Every file is written
/// atomically (<see cref="OutputFile"/>): a reader, or a run cut short, never sees half a file.
/// </summary>
public static class EvaluationOutput
{
    /// <summary>Writes everything and returns the files written, results.json and results.md first.</summary>
    /// <param name="report">The evaluation.</param>
    /// <param name="folder">Output folder (created if missing).</param>
    /// <param name="peakRssMegabytes">The process's peak resident memory, noted in results.md when given.</param>
    public static IReadOnlyList<string> Write(EvaluationReport report, string folder, double? peakRssMegabytes = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(folder);
        var json = Path.Combine(folder, "results.json");
        OutputFile.Write(json, stream => EvaluationJson.Write(report, stream));

        var figures = new List<string>();
        foreach (var run in report.Diagnostics)
            figures.AddRange(EvaluationFigures.Write(run, CategoryFolder(folder, run.Category)));

        var md = new StringBuilder(EvaluationMarkdown.Render(report));
        if (peakRssMegabytes is double rss)
            md.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Peak resident memory of the run: {rss:F0} MB.")).AppendLine();
        if (figures.Count > 0)
        {
            md.AppendLine("## Figures").AppendLine();
            foreach (var run in report.Diagnostics)
            {
                var mine = figures.Where(f => f.StartsWith(CategoryFolder(folder, run.Category) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                    .Where(f => Path.GetFileName(Path.GetDirectoryName(f)) != "heatmaps")
                    .Select(f => $"[{Path.GetFileName(f)}]({Path.GetRelativePath(folder, f).Replace('\\', '/')})");
                md.AppendLine($"- {run.Category} (k={run.Shots}, seed {run.Seed}): {string.Join(", ", mine)}");
            }
            md.AppendLine();
        }
        var markdown = Path.Combine(folder, "results.md");
        OutputFile.WriteText(markdown, md.ToString());
        return [json, markdown, .. figures];
    }

    /// <summary>The folder of a category's figures: its name's segments below <c>categories/</c>.</summary>
    public static string CategoryFolder(string folder, string category)
    {
        var segments = category.Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => s is "." or ".." ? "_" : s);
        return Path.Combine([folder, "categories", .. segments]);
    }
}
