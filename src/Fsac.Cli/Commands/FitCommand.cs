using System.ComponentModel;
using Fsac.Cli.Fitting;
using Fsac.Cli.Inputs;
using Fsac.MLNet;
using Fsac.MLNet.Classification;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Model;
using Fsac.MLNet.Synthesis;
using Fsac.MLNet.Training;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Fsac.Cli.Commands;

/// <summary>
/// <c>fsac fit</c>: fits CLIP-FSAC on k normal images and saves the model with its backbone reference, so that
/// <c>fsac predict</c> needs only the file.
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

        [CommandOption("--class <NAME>")]
        [Description("The object or texture name used in the prompts, e.g. bottle.")]
        public string? ClassName { get; init; }

        [CommandOption("--backbone <SPEC>")]
        [Description("resnet18 (default, offline), an OpenCLIP model folder, or published weights name:tag.")]
        public string Backbone { get; init; } = Backbones.Default;

        [CommandOption("--shots <K>")]
        [Description("Number of normal images to fit on (default 4); more are sampled with --seed.")]
        public int Shots { get; init; } = 4;

        [CommandOption("--out <FILE>")]
        [Description("The model file to write, e.g. model.fsac.")]
        public string? Out { get; init; }

        [CommandOption("--preset <NAME>")]
        [Description("mvtec (default: Gaussian-noise anomalies, beta 0.1/0.9) or visa (NSA anomalies, beta 1/1).")]
        public string Preset { get; init; } = "mvtec";

        [CommandOption("--seed <S>")]
        [Description("Seed of the shot sampling and of the fit (default 0).")]
        public int Seed { get; init; }

        [CommandOption("--epochs <N>")]
        [Description("Epochs per training stage (default: the preset's, 100).")]
        public int? Epochs { get; init; }

        [CommandOption("--dtype <DTYPE>")]
        [Description("Backbone precision: fp32 (default) or bf16.")]
        public string DType { get; init; } = "fp32";

        [CommandOption("-v|--verbose")]
        [Description("Print stack traces on errors.")]
        public bool Verbose { get; init; }

        public override ValidationResult Validate()
        {
            if (NormalPaths.Length == 0) return ValidationResult.Error("--normal <PATHS> is required (normal image files or folders).");
            if (string.IsNullOrWhiteSpace(ClassName)) return ValidationResult.Error("--class <NAME> is required (e.g. --class bottle).");
            if (string.IsNullOrWhiteSpace(Out)) return ValidationResult.Error("--out <FILE> is required (e.g. --out model.fsac).");
            if (Shots < 1) return ValidationResult.Error($"--shots must be at least 1; got {Shots}.");
            if (Epochs is < 0) return ValidationResult.Error($"--epochs must not be negative; got {Epochs}.");
            if (Preset is not ("mvtec" or "visa")) return ValidationResult.Error($"--preset must be mvtec or visa; got '{Preset}'.");
            return DType is "fp32" or "bf16" ? ValidationResult.Success() : ValidationResult.Error($"--dtype must be fp32 or bf16; got '{DType}'.");
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var files = ImageFiles.Expand(settings.NormalPaths, "--normal");
        var selection = ShotSelection.Choose(files, settings.Shots, settings.Seed);
        if (selection.Sampled)
            console.MarkupLine($"sampled {selection.Shots.Count} of {selection.Available} normal images (seed {settings.Seed}):");
        foreach (var shot in selection.Shots) console.MarkupLine($"  shot: {Markup.Escape(shot)}");

        var preset = settings.Preset == "visa" ? FsacPreset.VisA : FsacPreset.MVTec;
        var options = preset with
        {
            ClassName = settings.ClassName!.Trim(),
            Seed = settings.Seed,
            EpochsPerStage = settings.Epochs ?? preset.EpochsPerStage,
        };
        var backbone = new BackboneReference(settings.Backbone, settings.DType == "bf16" ? EncoderPrecision.BFloat16 : EncoderPrecision.Float32);

        var normals = new List<Image<Rgb24>>();
        try
        {
            foreach (var shot in selection.Shots) normals.Add(ImageLoader.Default.Load(shot));
            var synthesizer = AnomalySynthesizers.Create(options.SynthesisMethod);
            using var model = FitWithProgress(backbone, normals, options, synthesizer, cancellationToken);
            WriteAtomically(settings.Out!, model.Save);
            Summarize(settings.Out!, model, normals.Count);
        }
        finally
        {
            foreach (var n in normals) n.Dispose();
        }
        return ExitCodes.Success;
    }

    /// <summary>
    /// Three bars: encoding the shots and their synthetic anomalies (counted image by image), the training epochs,
    /// and choosing the threshold on fresh anomalies and augmented normals (counted, of unknown total).
    /// </summary>
    private FewShotAnomalyClassifier FitWithProgress(BackboneReference backbone, IReadOnlyList<Image<Rgb24>> normals, FsacOptions options,
        IAnomalySynthesizer synthesizer, CancellationToken cancellationToken)
    {
        console.MarkupLine($"loading backbone [bold]{Markup.Escape(backbone.Spec)}[/] ({backbone.Precision})");
        FewShotAnomalyClassifier? model = null;
        console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(progress =>
            {
                int epochs = FsacTrainer.StagesOf(options.TrainingMode).Count * options.EpochsPerStage;
                var encoding = progress.AddTask("encode shots + synthetic anomalies", maxValue: normals.Count * (1 + options.AnomaliesPerNormal));
                var training = progress.AddTask($"train {epochs} epochs", autoStart: false, maxValue: Math.Max(1, epochs));
                var calibration = progress.AddTask("choose threshold", autoStart: false);
                calibration.IsIndeterminate = true;
                int calibrated = 0;

                var encoder = CountingEncoder.Wrap(backbone.Resolve(), n =>
                {
                    if (!encoding.IsFinished)
                    {
                        encoding.Increment(n);
                        return;
                    }
                    if (!calibration.IsStarted) calibration.StartTask();
                    calibrated += n;
                    calibration.Description = $"choose threshold ({calibrated} images)";
                });
                var epochProgress = new EpochProgress(training, encoding);
                try
                {
                    model = FewShotAnomalyClassifier.Fit(encoder, normals, options, synthesizer, epochProgress, cancellationToken).OwnEncoder(backbone);
                }
                catch
                {
                    encoder.Dispose();
                    throw;
                }
                training.Value = training.MaxValue;
                training.StopTask();
                calibration.IsIndeterminate = false;
                calibration.Value = calibration.MaxValue;
                calibration.StopTask();
            });
        return model!;
    }

    private void Summarize(string path, FewShotAnomalyClassifier model, int shots)
    {
        var table = new Table().HideHeaders().AddColumns("", "");
        table.AddRow("model", Markup.Escape(Path.GetFullPath(path)));
        table.AddRow("backbone", Markup.Escape($"{model.Backbone!.Spec} ({model.Backbone.Precision}, encoder {model.BackboneName})"));
        table.AddRow("class", Markup.Escape(model.Options.ClassName));
        table.AddRow("shots", shots.ToString());
        table.AddRow("anomalies", Markup.Escape(model.SynthesizerName));
        foreach (var stage in model.History.Stages.Where(s => s.Losses.Count > 0))
            table.AddRow($"{stage.Stage} loss", $"{stage.Losses[0]:F4} -> {stage.Losses[^1]:F4} ({stage.Losses.Count} epochs)");
        table.AddRow("threshold", $"{model.Threshold:F4}");
        console.Write(table);
    }

    /// <summary>Writes beside the target and renames, so that a failed or cancelled save never leaves a partial model.</summary>
    private static void WriteAtomically(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".partial";
        try
        {
            using (var file = File.Create(temp)) write(file);
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Moves the epoch bar; the first epoch also ends the encoding bar.</summary>
    private sealed class EpochProgress(ProgressTask training, ProgressTask encoding) : IProgress<TrainingProgress>
    {
        private int done;

        public void Report(TrainingProgress value)
        {
            if (done++ == 0)
            {
                encoding.Value = encoding.MaxValue;
                encoding.StopTask();
                training.StartTask();
            }
            training.Value = done;
            training.Description = $"train {value.Stage} {value.Epoch}/{value.Epochs}, loss {value.Loss:F4}";
        }
    }
}
