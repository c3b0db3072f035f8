using Fsac.MLNet.Encoders;
using Fsac.MLNet.Evaluation;
using Fsac.MLNet.Evaluation.Datasets;
using Fsac.MLNet.Head;
using Fsac.MLNet.Native;
using Fsac.MLNet.PatchCore;
using Fsac.MLNet.Synthesis;
using System.ComponentModel;
using System.Globalization;
using Fsac.Cli.Inputs;
using Fsac.Cli.Reporting;
using Spectre.Console;
using Spectre.Console.Cli;
using TorchSharp;

namespace Fsac.Cli.Commands;

/// <summary>
/// <c>fsac eval</c>: the paper's few-shot protocol over every category of a data set (<see cref="EvaluationRunner"/>),
/// written as results.json, results.md and figures (<see cref="EvaluationOutput"/>). Ctrl-C stops after the current
/// step and still writes the runs finished so far.
/// </summary>
public sealed class EvalCommand : Command<EvalCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--data <ROOT>")]
        [Description("Data set folder. Default: ../shared/data beside the repository (folder layout) when it exists, else a demo set rendered into <out>/demo-data.")]
        public string? Data { get; init; }

        [CommandOption("--layout <LAYOUT>")]
        [Description("mvtec (<cat>/train/good, <cat>/test/<type>), visa (after its 1-cls split, same folders) or folder (<cat>/normal, <cat>/anomaly).")]
        [DefaultValue("mvtec")]
        public string Layout { get; init; } = "mvtec";

        [CommandOption("--backbone <SPEC>")]
        [Description("resnet18 (offline, default), a CLIP model folder, or published CLIP weights name:tag.")]
        [DefaultValue(Backbones.Default)]
        public string Backbone { get; init; } = Backbones.Default;

        [CommandOption("--vocab <FILE>")]
        [Description("CLIP vocabulary (bpe_simple_vocab_16e6.txt.gz) for a CLIP model folder that has none; default: the folder's, else the download cache.")]
        public string? Vocabulary { get; init; }

        [CommandOption("--dtype <DTYPE>")]
        [Description(PrecisionOption.Description)]
        [DefaultValue("fp32")]
        public string DType { get; init; } = "fp32";

        [CommandOption("--engine <ENGINE>")]
        [Description(EngineOption.Description)]
        [DefaultValue("auto")]
        public string Engine { get; init; } = "auto";

        [CommandOption("--shots <LIST>")]
        [Description("Comma-separated shot counts k.")]
        [DefaultValue("1,2,4")]
        public string Shots { get; init; } = "1,2,4";

        [CommandOption("--seeds <N>")]
        [Description("Number of seeds (0 .. N-1); each draws the shots and seeds the fits.")]
        [DefaultValue(3)]
        public int Seeds { get; init; } = 3;

        [CommandOption("--methods <LIST>")]
        [Description("Comma-separated: default, patchcore, fsac, fsac-onestage, fsac-joint, fsac-noca, fsac-local, fsac+patchcore, knn, and with a CLIP backbone winclip+ and zeroshot (skipped without a text tower).")]
        [DefaultValue("default,patchcore,winclip+,fsac,fsac-onestage,knn,zeroshot")]
        public string Methods { get; init; } = "default,patchcore,winclip+,fsac,fsac-onestage,knn,zeroshot";

        [CommandOption("-o|--out <DIR>")]
        [Description("Output folder (created if missing).")]
        public string? Out { get; init; }

        [CommandOption("--preset <NAME>")]
        [Description("CLIP-FSAC settings of the paper: mvtec (β 0.1/0.9, gaussian anomalies) or visa (β 1/1, NSA).")]
        [DefaultValue("mvtec")]
        public string Preset { get; init; } = "mvtec";

        [CommandOption("--synthesis <METHOD>")]
        [Description("Override the preset's anomaly synthesis: gaussian, uniform, nsa, cutpaste or cutpaste-scar.")]
        public string? Synthesis { get; init; }

        [CommandOption("--epochs <N>")]
        [Description("Override the epochs per training stage (paper: 100).")]
        public int? Epochs { get; init; }

        [CommandOption("--pool <M>")]
        [Description("Override the synthetic anomalies made per shot (default 8).")]
        public int? Pool { get; init; }

        [CommandOption("--alpha <A1,A2>")]
        [Description("Override α₁,α₂ (weights of the adapted and original image feature).")]
        public string? Alpha { get; init; }

        [CommandOption("--beta <B1,B2>")]
        [Description("Override β₁,β₂ (weights of the adapted and original text feature).")]
        public string? Beta { get; init; }

        [CommandOption("--tau <T>")]
        [Description("Override τ, the score temperature (paper: 0.07).")]
        public double? Tau { get; init; }

        [CommandOption("--train-temperature <T>")]
        [Description("Override the temperature of the training loss (paper: 1).")]
        public double? TrainTemperature { get; init; }

        [CommandOption("--resolution <PIXELS>")]
        [Description("patchcore: the input's shorter side, aspect ratio kept (default: the backbone's own input).")]
        public int? Resolution { get; init; }

        [CommandOption("--augment <KIND>")]
        [Description("patchcore: copies of the shots added to the memory: none, flips, rotations or all.")]
        [DefaultValue("none")]
        public string Augment { get; init; } = "none";

        [CommandOption("--normalize")]
        [Description("patchcore: scale patch features to unit length before the nearest-neighbour search.")]
        public bool Normalize { get; init; }

        [CommandOption("--topk <K>")]
        [Description("patchcore: the image score is the mean of the K largest patch distances (1 = max).")]
        [DefaultValue(1)]
        public int TopK { get; init; } = 1;

        [CommandOption("--memory-limit <N>")]
        [Description("patchcore: the most patches its memory keeps; a larger one is subsampled by greedy coreset selection.")]
        [DefaultValue(40_000)]
        public int MemoryLimit { get; init; } = 40_000;

        [CommandOption("--checkpoint-every <N>")]
        [Description("Epochs between the test-score checkpoints of the diagnostic run (reporting only; 0 = none).")]
        [DefaultValue(10)]
        public int CheckpointEvery { get; init; } = 10;

        [CommandOption("--heatmaps <N>")]
        [Description("Saliency overlays per class of the diagnostic run (worst anomalies and worst normals).")]
        [DefaultValue(3)]
        public int Heatmaps { get; init; } = 3;

        [CommandOption("--threads <N>")]
        [Description("libtorch intra-op threads (default: all cores).")]
        public int? Threads { get; init; }

        [CommandOption("-v|--verbose")]
        [Description("Print stack traces on errors.")]
        public bool Verbose { get; init; }

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Out)) return ValidationResult.Error("--out <DIR> is required.");
            if (Layout.ToLowerInvariant() is not ("mvtec" or "visa" or "folder")) return ValidationResult.Error($"Unknown --layout '{Layout}'; use mvtec, visa or folder.");
            if (PrecisionOption.Validate(DType) is { Successful: false } dtype) return dtype;
            if (EngineOption.Validate(Engine) is { Successful: false } engine) return engine;
            if (Preset.ToLowerInvariant() is not ("mvtec" or "visa")) return ValidationResult.Error($"Unknown --preset '{Preset}'; use mvtec or visa.");
            if (Seeds is < 1 or > 1000) return ValidationResult.Error($"--seeds must be between 1 and 1000; got {Seeds}.");
            if (!TryParseShots(Shots, out _)) return ValidationResult.Error($"--shots must be distinct whole numbers of at least 1, e.g. 1,2,4; got '{Shots}'.");
            try
            {
                EvaluationMethods.ParseList(Methods);
            }
            catch (ArgumentException e)
            {
                return ValidationResult.Error($"--methods: {e.Message.Split(" (Parameter")[0]}");
            }
            if (Synthesis is not null && !AnomalySynthesizers.Names.Contains(Synthesis.Trim().ToLowerInvariant()))
                return ValidationResult.Error($"Unknown --synthesis '{Synthesis}'; valid: {string.Join(", ", AnomalySynthesizers.Names)}.");
            if (Epochs is < 0) return ValidationResult.Error("--epochs must not be negative.");
            if (Pool is < 1) return ValidationResult.Error("--pool must be at least 1.");
            if (Alpha is not null && !TryParsePair(Alpha, out _)) return ValidationResult.Error($"--alpha must be two numbers, e.g. 1,1; got '{Alpha}'.");
            if (Beta is not null && !TryParsePair(Beta, out _)) return ValidationResult.Error($"--beta must be two numbers, e.g. 0.1,0.9; got '{Beta}'.");
            if (Tau is <= 0) return ValidationResult.Error("--tau must be positive.");
            if (TrainTemperature is <= 0) return ValidationResult.Error("--train-temperature must be positive.");
            if (CheckpointEvery < 0) return ValidationResult.Error("--checkpoint-every must not be negative.");
            if (Heatmaps < 0) return ValidationResult.Error("--heatmaps must not be negative.");
            if (Threads is < 1) return ValidationResult.Error("--threads must be at least 1.");
            if (Resolution is { } r && (r < 32 || r > 2048 || r % 32 != 0)) return ValidationResult.Error("--resolution must be a multiple of 32 between 32 and 2048 pixels.");
            if (!TryParseAugmentations(Augment, out _)) return ValidationResult.Error($"Unknown --augment '{Augment}'; use none, flips, rotations or all.");
            if (TopK < 1) return ValidationResult.Error("--topk must be at least 1.");
            if (MemoryLimit < 1) return ValidationResult.Error("--memory-limit must be at least 1.");
            return ValidationResult.Success();
        }

        /// <summary>The evaluation these settings ask for.</summary>
        public EvaluationOptions ToOptions()
        {
            var fsac = Preset.ToLowerInvariant() == "visa" ? FsacPreset.VisA : FsacPreset.MVTec;
            if (Synthesis is not null) fsac = fsac with { SynthesisMethod = Synthesis.Trim().ToLowerInvariant() };
            if (Epochs is int epochs) fsac = fsac with { EpochsPerStage = epochs };
            if (Pool is int pool) fsac = fsac with { AnomaliesPerNormal = pool };
            if (Alpha is not null && TryParsePair(Alpha, out var alpha)) fsac = fsac with { Alpha1 = alpha.A, Alpha2 = alpha.B };
            if (Beta is not null && TryParsePair(Beta, out var beta)) fsac = fsac with { Beta1 = beta.A, Beta2 = beta.B };
            if (Tau is double tau) fsac = fsac with { ScoreTemperature = tau };
            if (TrainTemperature is double t) fsac = fsac with { TrainingTemperature = t };
            TryParseShots(Shots, out var shots);
            TryParseAugmentations(Augment, out var augmentations);
            return new EvaluationOptions
            {
                PatchCore = new PatchCoreOptions { Resolution = Resolution, Augmentations = augmentations, TopK = TopK, Normalize = Normalize, MemoryLimit = MemoryLimit },
                Shots = shots,
                Seeds = [.. Enumerable.Range(0, Seeds)],
                Methods = EvaluationMethods.ParseList(Methods),
                Fsac = fsac,
                CheckpointInterval = CheckpointEvery,
                HeatmapsPerClass = Heatmaps,
            };
        }

        private static bool TryParseShots(string text, out int[] shots)
        {
            var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            shots = new int[parts.Length];
            for (int i = 0; i < parts.Length; i++)
                if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out shots[i]) || shots[i] < 1) return false;
            return shots.Length > 0 && shots.Distinct().Count() == shots.Length;
        }

        private static bool TryParseAugmentations(string text, out PatchAugmentations augmentations)
        {
            augmentations = text.Trim().ToLowerInvariant() switch
            {
                "none" => PatchAugmentations.None,
                "flips" => PatchAugmentations.Flips,
                "rotations" => PatchAugmentations.Rotations,
                "all" => PatchAugmentations.All,
                _ => (PatchAugmentations)(-1),
            };
            return augmentations != (PatchAugmentations)(-1);
        }

        private static bool TryParsePair(string text, out (float A, float B) pair)
        {
            var parts = text.Split(',', StringSplitOptions.TrimEntries);
            pair = default;
            if (parts.Length != 2
                || !float.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var a) || !float.IsFinite(a)
                || !float.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var b) || !float.IsFinite(b))
                return false;
            pair = (a, b);
            return true;
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        TorchRuntime.EnsureLoaded();
        if (settings.Threads is int threads) torch.set_num_threads(threads);
        // A log file gets whole lines: Spectre would wrap them at 80 columns.
        if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 160);
        var options = settings.ToOptions();
        var (data, layout) = ResolveData(settings);
        var precision = PrecisionOption.Parse(settings.DType);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ConsoleCancelEventHandler onCtrlC = (_, e) =>
        {
            e.Cancel = true;
            if (!stop.IsCancellationRequested) AnsiConsole.MarkupLine("[yellow]stopping after the current step (Ctrl-C again to kill)...[/]");
            else e.Cancel = false;
            stop.Cancel();
        };
        Console.CancelKeyPress += onCtrlC;
        try
        {
            // Check the data before loading (or downloading) the backbone: a wrong path fails in a second.
            var categories = AnomalyDatasets.Discover(data, layout);
            var backbone = new BackboneReference(settings.Backbone, precision) { Engine = EngineOption.Parse(settings.Engine) };
            using var encoder = BackboneLoader.Create(backbone, settings.Vocabulary);
            AnsiConsole.MarkupLine($"{categories.Count} categories, backbone [bold]{Markup.Escape(encoder.Name)}[/], {torch.get_num_threads()} thread(s), output [bold]{Markup.Escape(settings.Out!)}[/]");
            if (encoder is ResNet18Encoder resnet) AnsiConsole.MarkupLine($"engine [bold]{resnet.Engine}[/]: {Markup.Escape(resnet.EngineReason)}");
            var runner = new EvaluationRunner(encoder);
            EvaluationReport report;
            try
            {
                report = Run(runner, data, layout, options, stop.Token);
            }
            catch (EvaluationCancelledException cancelled)
            {
                var partial = EvaluationOutput.Write(cancelled.PartialReport, settings.Out!, PeakRss());
                AnsiConsole.MarkupLine($"[yellow]stopped:[/] {cancelled.PartialReport.Records.Count} finished run(s) written to [bold]{Markup.Escape(partial[0])}[/] and {Markup.Escape(partial[1])}");
                return ExitCodes.Cancelled;
            }
            var files = EvaluationOutput.Write(report, settings.Out!, PeakRss());
            PrintSummary(report);
            AnsiConsole.MarkupLine($"wrote [bold]{Markup.Escape(files[0])}[/], [bold]{Markup.Escape(files[1])}[/] and {files.Count - 2} figure(s); peak RSS {PeakRss():F0} MB");
            return ExitCodes.Success;
        }
        finally
        {
            Console.CancelKeyPress -= onCtrlC;
        }
    }

    /// <summary>
    /// The data to evaluate: --data with --layout when given; else ../shared/data beside the repository (folder layout);
    /// else a demo set rendered into the output folder, so that the command works on any machine, offline.
    /// </summary>
    private static (string Root, DatasetLayout Layout) ResolveData(Settings settings)
    {
        if (!string.IsNullOrWhiteSpace(settings.Data)) return (settings.Data, AnomalyDatasets.ParseLayout(settings.Layout));
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (!File.Exists(Path.Combine(dir.FullName, "Fsac.MLNet.sln"))) continue;
                var shared = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data"));
                if (Directory.Exists(shared))
                {
                    AnsiConsole.MarkupLine($"data: [bold]{Markup.Escape(shared)}[/] (folder layout)");
                    return (shared, DatasetLayout.Folder);
                }
                break;
            }
        }
        var demo = Path.Combine(settings.Out!, "demo-data");
        AnsiConsole.MarkupLine($"[yellow]no --data given and ../shared/data not found beside the repository:[/] rendering a demo set into [bold]{Markup.Escape(demo)}[/]");
        return (DemoDataset.Render(demo), DatasetLayout.Folder);
    }

    private static EvaluationReport Run(EvaluationRunner runner, string data, DatasetLayout layout, EvaluationOptions options, CancellationToken token)
    {
        if (!AnsiConsole.Profile.Capabilities.Interactive)
            return runner.Run(data, layout, options, new EvaluationConsole(null), token);
        EvaluationReport? report = null;
        AnsiConsole.Status().Start("starting", status => report = runner.Run(data, layout, options, new EvaluationConsole(status), token));
        return report!;
    }

    private static void PrintSummary(EvaluationReport report)
    {
        var table = new Table().AddColumns("setup", "method", "I-AUROC", "I-AUPR", "F1-max", "fit (s)", "score (ms/img)");
        table.Title = new TableTitle($"mean over {report.Categories.Count} categories, mean ± std over {report.Settings.Seeds.Count} seed(s)");
        foreach (var row in EvaluationSummary.Summarize(report.Records).Where(r => r.Category is null).OrderBy(r => r.Shots))
            table.AddRow($"{row.Shots}-shot", row.Method, Percent(row.Auroc), Percent(row.Aupr), Percent(row.F1Max),
                row.FitSeconds.Mean.ToString("F2", CultureInfo.InvariantCulture), row.ScoreMsPerImage.Mean.ToString("F1", CultureInfo.InvariantCulture));
        AnsiConsole.Write(table);
    }

    private static string Percent(MeanStd v) => string.Create(CultureInfo.InvariantCulture, $"{100 * v.Mean:F1} ± {100 * v.Std:F1}");

    private static double PeakRss() => BenchCommand.PeakRssMegabytes();
}
