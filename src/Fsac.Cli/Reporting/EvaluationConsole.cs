using Fsac.MLNet.Evaluation;
using Fsac.MLNet.Metrics;
using System.Globalization;
using Spectre.Console;

namespace Fsac.Cli.Reporting;

/// <summary>
/// Shows <c>fsac eval</c>'s progress: a line per category encoded and per finished run (with its metrics), notes,
/// and, on an interactive terminal, a status line with the current epoch or image. Reports arrive synchronously.
/// </summary>
public sealed class EvaluationConsole(StatusContext? status) : IProgress<EvaluationProgress>
{
    private string lastStatus = "";

    /// <inheritdoc />
    public void Report(EvaluationProgress p)
    {
        string where = $"[{p.CategoryIndex}/{p.CategoryCount}] {p.Category}";
        switch (p.Phase)
        {
            case EvaluationPhase.Note:
                AnsiConsole.MarkupLine($"[yellow]note:[/] {Markup.Escape(p.Detail ?? "")}");
                break;
            case EvaluationPhase.Encoding when p.Done == 0:
                AnsiConsole.MarkupLine($"[bold]{Markup.Escape(where)}[/]: encoding {p.Total} test images");
                break;
            case EvaluationPhase.Encoding when p.Done == p.Total:
                AnsiConsole.MarkupLine($"{Markup.Escape(where)}: {p.Total} test images encoded");
                break;
            case EvaluationPhase.Encoding:
                SetStatus($"{where}: encoding test images {p.Done}/{p.Total}");
                break;
            case EvaluationPhase.Training:
                SetStatus($"{where} {p.Detail}: epoch {p.Done}/{p.Total}");
                break;
            case EvaluationPhase.Saliency:
                SetStatus($"{where}: saliency maps {p.Done}/{p.Total}");
                break;
            case EvaluationPhase.RunCompleted when p.Record is { } r:
                AnsiConsole.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                    $"{where} {p.Detail}: AUROC {100 * r.Auroc:F1} AUPR {100 * r.Aupr:F1} F1max {100 * r.F1Max:F1}{PixelMetrics(r)} fit {r.FitSeconds:F2}s score {r.ScoreMsPerImage:F1}ms")));
                break;
        }
    }

    private static string PixelMetrics(EvaluationRecord r)
        => (r.PixelAuroc is { } p ? string.Create(CultureInfo.InvariantCulture, $" P-AUROC {100 * p:F1}") : "")
            + (r.Aupro is { } a ? string.Create(CultureInfo.InvariantCulture, $" AUPRO {100 * a:F1}") : "");

    private void SetStatus(string text)
    {
        if (status is null || text == lastStatus) return;
        lastStatus = text;
        status.Status(Markup.Escape(text));
    }
}
