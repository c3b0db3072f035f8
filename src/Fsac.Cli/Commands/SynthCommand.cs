using Fsac.MLNet.Imaging;
using Fsac.MLNet.Synthesis;
using Fsac.MLNet.Visualisation;
using System.ComponentModel;
using Fsac.Cli.Outputs;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Fsac.Cli.Commands;

/// <summary>
/// <c>fsac synth</c>: writes N synthetic anomalies of one image (and their masks) as PNG, plus <c>grid.png</c> to look at.
/// </summary>
public sealed class SynthCommand : Command<SynthCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-m|--method <METHOD>")]
        [Description("Synthesis method: gaussian, uniform, nsa, cutpaste or cutpaste-scar.")]
        public string? Method { get; init; }

        [CommandOption("-i|--input <IMAGE>")]
        [Description("The normal image (any format ImageSharp reads; greyscale and RGBA are converted to RGB).")]
        public string? Input { get; init; }

        [CommandOption("-s|--source <IMAGE>")]
        [Description("Another normal image to take patches from (nsa, cutpaste); repeatable. Default: the input itself.")]
        public string[] Sources { get; init; } = [];

        [CommandOption("-n|--count <N>")]
        [Description("How many anomalies to make.")]
        [DefaultValue(8)]
        public int Count { get; init; } = 8;

        [CommandOption("--seed <SEED>")]
        [Description("Random seed; the same seed gives the same bytes.")]
        [DefaultValue(0)]
        public int Seed { get; init; }

        [CommandOption("-o|--out <DIR>")]
        [Description("Output folder (created if missing).")]
        public string? Out { get; init; }

        [CommandOption("--foreground")]
        [Description("Estimate the object's mask (object categories) and keep anomalies on it; also writes foreground.png.")]
        public bool Foreground { get; init; }

        public override ValidationResult Validate()
        {
            string names = string.Join(", ", AnomalySynthesizers.Names);
            if (string.IsNullOrWhiteSpace(Method)) return ValidationResult.Error($"--method is required ({names}).");
            if (!AnomalySynthesizers.Names.Contains(Method.Trim().ToLowerInvariant()))
                return ValidationResult.Error($"Unknown --method '{Method}'; valid: {names}.");
            if (string.IsNullOrWhiteSpace(Input)) return ValidationResult.Error("--input <IMAGE> is required.");
            if (string.IsNullOrWhiteSpace(Out)) return ValidationResult.Error("--out <DIR> is required.");
            if (Count is < 1 or > 1000) return ValidationResult.Error($"--count must be between 1 and 1000; got {Count}.");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var synthesizer = AnomalySynthesizers.Create(settings.Method!);
        using var input = ImageLoader.Default.Load(settings.Input!);
        var sources = new List<Image<Rgb24>>();
        var anomalies = new List<SyntheticAnomaly>();
        Image<L8>? foreground = null;
        try
        {
            foreach (var path in settings.Sources) sources.Add(ImageLoader.Default.Load(path));
            if (settings.Foreground) foreground = ForegroundEstimator.Estimate(input);
            var synthesisContext = new SynthesisContext(sources, foreground);
            Directory.CreateDirectory(settings.Out!);
            var rng = new Random(settings.Seed);
            for (int i = 0; i < settings.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var anomaly = synthesizer.Synthesize(input, rng, synthesisContext);
                anomalies.Add(anomaly);
                OutputFile.WritePng(Path.Combine(settings.Out!, $"anomaly-{i:D3}.png"), anomaly.Image);
                OutputFile.WritePng(Path.Combine(settings.Out!, $"mask-{i:D3}.png"), anomaly.Mask);
                AnsiConsole.MarkupLine($"anomaly-{i:D3}.png: {anomaly.Regions.Count} region(s), {ChangedPixels(anomaly.Mask)} pixels changed");
            }
            if (foreground is not null) OutputFile.WritePng(Path.Combine(settings.Out!, "foreground.png"), foreground);
            using var grid = AnomalyGrid.Compose(input, anomalies, foreground);
            string gridPath = Path.Combine(settings.Out!, "grid.png");
            OutputFile.WritePng(gridPath, grid);
            AnsiConsole.MarkupLine($"{synthesizer.Name}: wrote {settings.Count} anomalies and masks, and [bold]{Markup.Escape(gridPath)}[/]");
            return ExitCodes.Success;
        }
        finally
        {
            foreach (var a in anomalies) a.Dispose();
            foreach (var s in sources) s.Dispose();
            foreground?.Dispose();
        }
    }

    private static int ChangedPixels(Image<L8> mask)
    {
        var values = new L8[mask.Width * mask.Height];
        mask.CopyPixelDataTo(values);
        return values.Count(v => v.PackedValue != 0);
    }
}
