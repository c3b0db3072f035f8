using Fsac.MLNet.Encoders.Clip;
using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Fsac.Cli.Commands;

/// <summary><c>fsac download name:tag</c>: fetches published CLIP weights and the vocabulary into the cache.</summary>
public sealed class DownloadCommand : Command<DownloadCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "[NAME:TAG]")]
        [Description("Published weights, e.g. ViT-B-16-plus-240:laion400m_e31. Omit to list what is known.")]
        public string? Spec { get; init; }

        [CommandOption("--cache <DIR>")]
        [Description("Cache folder (default: $FSAC_CACHE or ~/.cache/fsac).")]
        public string? Cache { get; init; }

        [CommandOption("-v|--verbose")]
        [Description("Print stack traces on errors.")]
        public bool Verbose { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(settings.Spec))
        {
            var table = new Table().AddColumns("model", "tag", "sha256", "url");
            foreach (var w in ClipPretrained.All)
                table.AddRow(w.Model, w.Tag, w.Sha256 ?? "(recorded after download)", Markup.Escape(w.Url.ToString()));
            AnsiConsole.Write(table);
            return ExitCodes.Success;
        }
        var parts = settings.Spec.Split(':', 2);
        if (parts.Length != 2) throw new ArgumentException($"Expected name:tag, got '{settings.Spec}'. Run 'fsac download' to list them.");
        string weights = "", vocabulary = "";
        AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new DownloadedColumn(), new TransferSpeedColumn())
            .Start(p =>
            {
                var task = p.AddTask(settings.Spec);
                var progress = new Progress<DownloadProgress>(d =>
                {
                    if (d.TotalBytes is { } total) task.MaxValue = total;
                    task.Value = d.BytesReceived;
                });
                weights = ClipPretrained.Download(parts[0], parts[1], settings.Cache, progress, ct);
                vocabulary = ClipPretrained.DownloadVocabulary(settings.Cache, null, ct);
            });
        AnsiConsole.MarkupLine($"weights: {Markup.Escape(weights)}\nvocabulary: {Markup.Escape(vocabulary)}");
        return ExitCodes.Success;
    }
}
