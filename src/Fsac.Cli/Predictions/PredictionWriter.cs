using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace Fsac.Cli.Predictions;

/// <summary>Prints the results of <c>fsac predict</c> as a table, CSV or JSON. CSV and JSON are written unwrapped.</summary>
public static class PredictionWriter
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Writes <paramref name="predictions"/> of the model at <paramref name="modelPath"/> to <paramref name="console"/>.</summary>
    public static void Write(IAnsiConsole console, PredictionFormat format, string modelPath, string backbone, float threshold,
        IReadOnlyList<ImagePrediction> predictions)
    {
        switch (format)
        {
            case PredictionFormat.Table:
                console.Write(Table(predictions));
                console.MarkupLine($"threshold {threshold.ToString("F4", CultureInfo.InvariantCulture)}; " +
                    $"{predictions.Count(p => p.Anomalous == true)} anomalous, {predictions.Count(p => p.Anomalous == false)} normal, " +
                    $"{predictions.Count(p => p.Error is not null)} unreadable");
                break;
            case PredictionFormat.Csv:
                console.Profile.Out.Writer.Write(Csv(predictions));
                break;
            case PredictionFormat.Json:
                var document = new { Model = modelPath, Backbone = backbone, Threshold = threshold, Predictions = predictions };
                console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(document, Json));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, null);
        }
        console.Profile.Out.Writer.Flush();
    }

    private static Table Table(IReadOnlyList<ImagePrediction> predictions)
    {
        var table = new Table().AddColumns("image", "score", "decision", "heatmap");
        table.Columns[1].RightAligned();
        foreach (var p in predictions)
        {
            var decision = p.Error is not null ? "[yellow]unreadable[/]" : p.Anomalous == true ? "[red]anomalous[/]" : "[green]normal[/]";
            table.AddRow(Markup.Escape(p.Image), p.Score?.ToString("F4", CultureInfo.InvariantCulture) ?? "-", decision, Markup.Escape(p.Heatmap ?? ""));
        }
        return table;
    }

    private static string Csv(IReadOnlyList<ImagePrediction> predictions)
    {
        var csv = new StringBuilder("image,score,anomalous,heatmap,error\n");
        foreach (var p in predictions)
        {
            csv.Append(Field(p.Image)).Append(',')
                .Append(p.Score?.ToString("R", CultureInfo.InvariantCulture)).Append(',')
                .Append(p.Anomalous switch { true => "true", false => "false", null => "" }).Append(',')
                .Append(Field(p.Heatmap)).Append(',')
                .Append(Field(p.Error)).Append('\n');
        }
        return csv.ToString();
    }

    /// <summary>RFC 4180 quoting: a field with a comma, quote or line break is quoted, its quotes doubled.</summary>
    private static string Field(string? value)
        => value is null ? "" : value.IndexOfAny([',', '"', '\n', '\r']) < 0 ? value : $"\"{value.Replace("\"", "\"\"")}\"";
}
