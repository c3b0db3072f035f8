using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Visualisation;
using System.ComponentModel;
using Fsac.Cli.Inputs;
using Fsac.Cli.Outputs;
using Fsac.Cli.Predictions;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Fsac.Cli.Commands;

/// <summary>
/// <c>fsac predict</c>: scores images with a model written by <c>fsac fit</c>, decides with its threshold and
/// optionally writes a saliency overlay per image. An unreadable image is reported (one line on standard error) and
/// skipped; the exit code is then <see cref="ExitCodes.BadInput"/> once all the others are done.
/// </summary>
public sealed class PredictCommand(IAnsiConsole console, ErrorConsole errors) : Command<PredictCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<IMAGES>")]
        [Description("Image files and/or folders (searched recursively).")]
        public string[] Images { get; init; } = [];

        [CommandOption("--model <FILE>")]
        [Description("A model written by 'fsac fit'.")]
        public string? Model { get; init; }

        [CommandOption("--heatmaps <DIR>")]
        [Description("Write a saliency overlay (PNG) per image into this folder.")]
        public string? Heatmaps { get; init; }

        [CommandOption("--format <FORMAT>")]
        [Description("table (default), csv or json.")]
        public string Format { get; init; } = "table";

        [CommandOption("--vocab <FILE>")]
        [Description("CLIP vocabulary (bpe_simple_vocab_16e6.txt.gz) when the model's CLIP folder has none; default: the folder's, else the download cache.")]
        public string? Vocabulary { get; init; }

        [CommandOption("-v|--verbose")]
        [Description("Print stack traces on errors.")]
        public bool Verbose { get; init; }

        internal PredictionFormat ParsedFormat => Enum.Parse<PredictionFormat>(Format, ignoreCase: true);

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Model)) return ValidationResult.Error("--model <FILE> is required (a model written by 'fsac fit').");
            return Format.ToLowerInvariant() is "table" or "csv" or "json"
                ? ValidationResult.Success()
                : ValidationResult.Error($"--format must be table, csv or json; got '{Format}'.");
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var files = ImageFiles.Expand(settings.Images, "images");
        using var model = ModelFile.Load(settings.Model!, settings.Vocabulary);
        if (settings.Heatmaps is not null) Directory.CreateDirectory(settings.Heatmaps);
        var format = settings.ParsedFormat;

        var predictions = new List<ImagePrediction>(files.Count);
        var heatmapNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        void Run(Action<int>? advance)
        {
            foreach (var chunk in files.Chunk(16))
            {
                predictions.AddRange(PredictChunk(model, chunk, settings.Heatmaps, heatmapNames, cancellationToken));
                advance?.Invoke(chunk.Length);
            }
        }
        if (format == PredictionFormat.Table)
            console.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(p =>
                {
                    var task = p.AddTask(settings.Heatmaps is null ? "score" : "score + heatmaps", maxValue: files.Count);
                    Run(n => task.Increment(n));
                });
        else Run(null);

        PredictionWriter.Write(console, format, settings.Model!, model.Backbone!.Spec, model.Threshold, predictions);
        var failed = predictions.Where(p => p.Error is not null).ToList();
        foreach (var f in failed) errors.Error(f.Error!);
        return failed.Count == 0 ? ExitCodes.Success : ExitCodes.BadInput;
    }

    /// <summary>Decodes a chunk of files (keeping the unreadable ones as errors), scores the rest together, and writes heatmaps.</summary>
    private static IEnumerable<ImagePrediction> PredictChunk(FewShotAnomalyClassifier model, string[] files, string? heatmaps,
        HashSet<string> heatmapNames, CancellationToken cancellationToken)
    {
        var images = new Image<Rgb24>?[files.Length];
        var errors = new string?[files.Length];
        try
        {
            for (int i = 0; i < files.Length; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                try
                {
                    images[i] = ImageLoader.Default.Load(files[i]);
                }
                catch (Exception e) when (e is ImageDecodeException or IOException or UnauthorizedAccessException)
                {
                    errors[i] = e.Message;
                }
            }
            var readable = Enumerable.Range(0, files.Length).Where(i => images[i] is not null).ToList();
            var (scores, maps) = model.ScoreWithMaps([.. readable.Select(i => images[i]!)], withMaps: heatmaps is not null, cancellationToken);
            var results = new ImagePrediction[files.Length];
            for (int i = 0; i < files.Length; i++)
                if (errors[i] is not null) results[i] = new ImagePrediction(files[i], null, null, null, errors[i]);
            for (int r = 0; r < readable.Count; r++)
            {
                int i = readable[r];
                string? heatmap = heatmaps is null ? null : WriteHeatmap(images[i]!, maps[r], model.MapRange, files[i], heatmaps, heatmapNames);
                results[i] = new ImagePrediction(files[i], scores[r], scores[r] >= model.Threshold, heatmap, null);
            }
            return results;
        }
        finally
        {
            foreach (var image in images) image?.Dispose();
        }
    }

    /// <summary>Writes <c>&lt;name&gt;.png</c> (or <c>&lt;name&gt;-2.png</c>, ... when names repeat) and returns its path.</summary>
    private static string WriteHeatmap(Image<Rgb24> image, float[] map, (float Low, float High)? range, string file, string folder, HashSet<string> names)
    {
        var stem = Path.GetFileNameWithoutExtension(file);
        var name = stem;
        for (int n = 2; !names.Add(name); n++) name = $"{stem}-{n}";
        var path = Path.Combine(folder, name + ".png");
        OutputFile.Write(path, stream => SaliencyOverlay.WritePng(image, map, stream, range: range));
        return path;
    }
}
