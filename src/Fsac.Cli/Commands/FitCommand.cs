using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Fitting;
using Fsac.MLNet.Head;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.PatchCore;
using System.ComponentModel;
using System.Diagnostics;
using Fsac.Cli.Fitting;
using Fsac.Cli.Inputs;
using Fsac.Cli.Outputs;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Fsac.Cli.Commands;

/// <summary>
/// <c>fsac fit</c>: fits a few-shot method (the default one unless <c>--method</c> names another) on k normal images
/// and saves the model with its backbone reference, so that <c>fsac predict</c> and <c>fsac update</c> need only the file.
/// </summary>
public sealed class FitCommand(IAnsiConsole console) : Command<FitCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--normal <PATHS>")]
        [Description("Normal images: files and/or folders (searched recursively); repeat the option for several.")]
        public string[] Normal { get; init; } = [];

        [CommandArgument(0, "[PATHS]")]
        [Description("More normal images or folders, so that '--normal dir/*.png' works as the shell expands it.")]
        public string[] MoreNormal { get; init; } = [];

        internal string[] NormalPaths => [.. Normal, .. MoreNormal];

        [CommandOption("--method <NAME>")]
        [Description("default (the method that scored best on real images), patchcore, fsac (the paper's CLIP-FSAC), fsac-local, fsac+patchcore or winclip+ (CLIP backbones).")]
        public string Method { get; init; } = "default";

        [CommandOption("--class <NAME>")]
        [Description("The object or texture name used in CLIP-FSAC's prompts, e.g. bottle (default: object).")]
        public string? ClassName { get; init; }

        [CommandOption("--backbone <SPEC>")]
        [Description("resnet18 (default, offline), an OpenCLIP model folder, or published weights name:tag.")]
        public string Backbone { get; init; } = Backbones.Default;

        [CommandOption("--vocab <FILE>")]
        [Description("CLIP vocabulary (bpe_simple_vocab_16e6.txt.gz) for a CLIP model folder that has none; default: the folder's, else the download cache.")]
        public string? Vocabulary { get; init; }

        [CommandOption("--shots <K>")]
        [Description("Number of normal images to fit on (default 4); more are sampled with --seed.")]
        public int Shots { get; init; } = 4;

        [CommandOption("--out <FILE>")]
        [Description("The model file to write, e.g. model.fsac.")]
        public string? Out { get; init; }

        [CommandOption("--preset <NAME>")]
        [Description("fsac: mvtec (default: Gaussian-noise anomalies, beta 0.1/0.9) or visa (NSA anomalies, beta 1/1).")]
        public string Preset { get; init; } = "mvtec";

        [CommandOption("--epochs <N>")]
        [Description("fsac: epochs per training stage (default: the preset's, 100).")]
        public int? Epochs { get; init; }

        [CommandOption("--resolution <PIXELS>")]
        [Description("patchcore: the input's shorter side, aspect ratio kept (default: the backbone's own input).")]
        public int? Resolution { get; init; }

        [CommandOption("--seed <S>")]
        [Description("Seed of the shot sampling and of the fit (default 0).")]
        public int Seed { get; init; }

        [CommandOption("--dtype <DTYPE>")]
        [Description(PrecisionOption.Description)]
        public string DType { get; init; } = "fp32";

        [CommandOption("--engine <ENGINE>")]
        [Description(EngineOption.Description)]
        public string Engine { get; init; } = "auto";

        [CommandOption("-v|--verbose")]
        [Description("Print stack traces on errors.")]
        public bool Verbose { get; init; }

        public override ValidationResult Validate()
        {
            if (NormalPaths.Length == 0) return ValidationResult.Error("--normal <PATHS> is required (normal image files or folders).");
            if (string.IsNullOrWhiteSpace(Out)) return ValidationResult.Error("--out <FILE> is required (e.g. --out model.fsac).");
            if (ClassName is not null && string.IsNullOrWhiteSpace(ClassName)) return ValidationResult.Error("--class must not be empty.");
            if (Shots < 1) return ValidationResult.Error($"--shots must be at least 1; got {Shots}.");
            if (Epochs is < 0) return ValidationResult.Error($"--epochs must not be negative; got {Epochs}.");
            if (Resolution is { } r && (r < 32 || r > 2048 || r % 32 != 0)) return ValidationResult.Error($"--resolution must be a multiple of 32 between 32 and 2048 pixels; got {r}.");
            if (Preset is not ("mvtec" or "visa")) return ValidationResult.Error($"--preset must be mvtec or visa; got '{Preset}'.");
            AnomalyMethod method;
            try
            {
                method = AnomalyMethodOptions.Parse(Method);
            }
            catch (ArgumentException e)
            {
                return ValidationResult.Error($"--method: {e.Message.Split(" (Parameter")[0]}");
            }
            if (Resolution is not null && method is not (AnomalyMethod.PatchCore or AnomalyMethod.FsacPatchCore))
                return ValidationResult.Error($"--resolution applies to --method patchcore and fsac+patchcore only (the default method sets its own; '{Method}' reads the backbone's input).");
            if (PrecisionOption.Validate(DType) is { Successful: false } dtype) return dtype;
            return EngineOption.Validate(Engine);
        }

        /// <summary>The method and settings these options ask for.</summary>
        internal AnomalyMethodOptions ToMethodOptions()
        {
            var preset = Preset == "visa" ? FsacPreset.VisA : FsacPreset.MVTec;
            return new AnomalyMethodOptions
            {
                Method = AnomalyMethodOptions.Parse(Method),
                Fsac = preset with { ClassName = ClassName?.Trim() ?? "object", EpochsPerStage = Epochs ?? preset.EpochsPerStage },
                PatchCore = new PatchCoreOptions { Resolution = Resolution },
                Seed = Seed,
            };
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var files = ImageFiles.Expand(settings.NormalPaths, "--normal");
        var selection = ShotSelection.Choose(files, settings.Shots, settings.Seed);
        if (selection.Sampled)
            console.MarkupLine($"sampled {selection.Shots.Count} of {selection.Available} normal images (seed {settings.Seed}):");
        foreach (var shot in selection.Shots) console.MarkupLine($"  shot: {Markup.Escape(shot)}");

        var options = settings.ToMethodOptions();
        var backbone = new BackboneReference(settings.Backbone, PrecisionOption.Parse(settings.DType)) { Engine = EngineOption.Parse(settings.Engine) };
        var output = Path.GetFullPath(settings.Out!);
        OutputFile.CreateFolderFor(output);

        var normals = new List<Image<Rgb24>>();
        try
        {
            foreach (var shot in selection.Shots) normals.Add(ImageLoader.Default.Load(shot));
            using var model = FitWithProgress(backbone, settings.Vocabulary, normals, options, out var times, cancellationToken);
            OutputFile.Write(output, model.Save);
            Summarize(output, model, backbone, options, normals.Count, times);
        }
        finally
        {
            foreach (var n in normals) n.Dispose();
        }
        return ExitCodes.Success;
    }

    /// <summary>
    /// A bar of encoded images (the shots, their copies and synthetic anomalies, counted image by image), and for
    /// CLIP-FSAC one of training epochs. <paramref name="times"/>: the backbone's loading and the fit (encoding included).
    /// </summary>
    private FewShotAnomalyClassifier FitWithProgress(BackboneReference backbone, string? vocabulary, IReadOnlyList<Image<Rgb24>> normals,
        AnomalyMethodOptions options, out (TimeSpan Load, TimeSpan Fit) times, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        TimeSpan loaded = default;
        console.MarkupLine($"loading backbone [bold]{Markup.Escape(backbone.Spec)}[/] ({backbone.Precision}); method [bold]{options.MethodName}[/]");
        FewShotAnomalyClassifier? model = null;
        ResNet18Encoder? resnet = null;
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(progress =>
            {
                var encoding = progress.AddTask("encode images");
                encoding.IsIndeterminate = true;
                int encoded = 0;
                ProgressTask? training = null;
                if (options.Method == AnomalyMethod.Fsac)
                {
                    int epochs = HeadTrainer.StagesOf(options.Fsac.TrainingMode).Count * options.Fsac.EpochsPerStage;
                    training = progress.AddTask($"train {epochs} epochs", autoStart: false, maxValue: Math.Max(1, epochs));
                }
                var created = BackboneLoader.Create(backbone, vocabulary);
                loaded = watch.Elapsed;
                resnet = created as ResNet18Encoder;
                var encoder = CountingEncoder.Wrap(created, n =>
                {
                    encoded += n;
                    encoding.Description = $"encode images ({encoded})";
                });
                model = FewShotAnomalyClassifier.Fit(encoder, backbone, normals, options,
                    training is null ? null : new EpochProgress(training), cancellationToken);
                watch.Stop();
                encoding.IsIndeterminate = false;
                encoding.Value = encoding.MaxValue;
                encoding.StopTask();
                if (training is not null)
                {
                    training.Value = training.MaxValue;
                    training.StopTask();
                }
            });
        if (resnet is not null) console.MarkupLine($"engine [bold]{resnet.Engine}[/]: {Markup.Escape(resnet.EngineReason)}");
        times = (loaded, watch.Elapsed - loaded);
        return model!;
    }

    private void Summarize(string path, FewShotAnomalyClassifier model, BackboneReference backbone, AnomalyMethodOptions options, int shots,
        (TimeSpan Load, TimeSpan Fit) times)
    {
        var table = new Table().HideHeaders().AddColumns("", "");
        table.AddRow("model", Markup.Escape(path));
        table.AddRow("method", options.MethodName);
        table.AddRow("backbone", Markup.Escape($"{backbone.Spec} ({backbone.Precision}, encoder {model.BackboneName})"));
        table.AddRow("shots", shots.ToString());
        switch (model.Inner)
        {
            case PatchCoreClassifier memory:
                table.AddRow("input", memory.Options.Resolution is { } r ? $"shorter side {r} px, aspect kept" : "the backbone's own");
                table.AddRow("memory", $"{memory.MemoryPatches} patches, {memory.MemoryBytes / 1e6:F1} MB");
                break;
            case FsacClassifier fsac:
                table.AddRow("class", Markup.Escape(fsac.Options.ClassName));
                table.AddRow("anomalies", Markup.Escape(fsac.SynthesizerName));
                foreach (var stage in fsac.History.Stages.Where(s => s.Losses.Count > 0))
                    table.AddRow($"{stage.Stage} loss", $"{stage.Losses[0]:F4} -> {stage.Losses[^1]:F4} ({stage.Losses.Count} epochs)");
                break;
        }
        table.AddRow("threshold", $"{model.Threshold:F4}");
        table.AddRow("time", $"fit {times.Fit.TotalSeconds:F1} s, encoding included; backbone loading {times.Load.TotalSeconds:F1} s");
        console.Write(table);
    }

    /// <summary>Moves the epoch bar.</summary>
    private sealed class EpochProgress(ProgressTask training) : IProgress<TrainingProgress>
    {
        private int done;

        public void Report(TrainingProgress value)
        {
            if (done++ == 0) training.StartTask();
            training.Value = done;
            training.Description = $"train {value.Stage} {value.Epoch}/{value.Epochs}, loss {value.Loss:F4}";
        }
    }
}
