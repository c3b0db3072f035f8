using Fsac.MLNet.Files;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fsac.MLNet.Evaluation;

/// <summary>
/// Writes an <see cref="EvaluationReport"/> as <c>results.json</c>: <c>settings</c>, <c>complete</c>, <c>notes</c>,
/// <c>categories</c>, <c>records</c> (one per category × method × shots × seed with <c>auroc</c>, <c>aupr</c>,
/// <c>f1max</c>, <c>fitSeconds</c>, <c>scoreMsPerImage</c>, and <c>pixel_auroc</c> and <c>aupro</c> for categories with
/// ground-truth masks) and <c>training</c> (per category: the diagnostic run's
/// checkpoint AUROCs and training losses). Scores and saliency maps are left out. camelCase names, enums as strings.
/// </summary>
public static class EvaluationJson
{
    /// <summary>The serializer settings used (camelCase, indented, enums as camelCase strings, NaN and infinities as strings).</summary>
    public static JsonSerializerOptions SerializerOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>Writes the report to <paramref name="output"/> as UTF-8 JSON.</summary>
    public static void Write(EvaluationReport report, Stream output)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(output);
        var document = new
        {
            report.Settings,
            report.Complete,
            report.Notes,
            report.Categories,
            report.Records,
            Training = report.Diagnostics.Where(d => d.Training is not null).Select(d => new
            {
                d.Category,
                d.Training!.Method,
                d.Shots,
                d.Seed,
                Checkpoints = d.Training.Checkpoints.Select(c => new { c.Epoch, c.Auroc }),
                Losses = d.Training.History.Stages.Select(st => new { st.Stage, st.Losses }),
            }),
        };
        JsonSerializer.Serialize(output, document, SerializerOptions);
    }

    /// <summary>Writes the report to a file atomically (replaced if it exists; a failed write keeps the old one).</summary>
    public static void Write(EvaluationReport report, string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        Files.AtomicFile.Write(path, file => Write(report, file));
    }
}
