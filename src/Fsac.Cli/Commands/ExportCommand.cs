using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Export;
using System.ComponentModel;
using System.Globalization;
using Fsac.Cli.Inputs;
using Fsac.Cli.Outputs;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Fsac.Cli.Commands;

/// <summary>
/// <c>fsac export</c>: writes a saved model (any method, on ResNet18 or CLIP) as one ONNX graph
/// (<see cref="Fsac.MLNet.Fsac.MLNet.Classifiers.FewShotAnomalyClassifier.ExportOnnx(string, int?, int?)"/>): resized RGB
/// pixels in, score, decision and patch-grid anomaly map out; with <c>--resize</c>
/// (<see cref="Fsac.MLNet.Fsac.MLNet.Classifiers.FewShotAnomalyClassifier.ExportOnnx(string, int?, int?, bool)"/>) the
/// decoded images at <c>--image-size</c> in, resized inside the graph as the library resizes them; with
/// <c>--backbone</c> the frozen encoder alone (<see cref="EncoderExport"/>).
/// </summary>
public sealed class ExportCommand(IAnsiConsole console) : Command<ExportCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--model <FILE>")]
        [Description("The model to export (written by fsac fit; any method, on resnet18 or a CLIP): pixels [[N, 3, H, W]] (RGB 0..255, resized, " +
            "not normalised) to score [[N]], is_anomaly [[N]] and anomaly_map [[N, h, w]] (none for fsac).")]
        public string? Model { get; init; }

        [CommandOption("--backbone <BACKBONE>")]
        [Description("Instead of a model: export the frozen encoder alone, resnet18 (pooled_features [[N, 512]], patch_features [[N, 384, H/8, W/8]]) " +
            "or a CLIP model folder (image_embeds [[N, E]], patch_tokens [[N, P, E]]); the normalisation is inside. Needs --out.")]
        public string? Backbone { get; init; }

        [CommandOption("--vocab <FILE>")]
        [Description("CLIP vocabulary (bpe_simple_vocab_16e6.txt.gz) for a --backbone model folder that has none; default: the folder's, else the download cache.")]
        public string? Vocabulary { get; init; }

        [CommandOption("--out <FILE>")]
        [Description("Where to write the ONNX file (default: the model's path with .onnx).")]
        public string? Out { get; init; }

        [CommandOption("--triton <DIR>")]
        [Description("Instead of one ONNX file: write a Triton/KServe model repository entry, <DIR>/<name>/1/model.onnx and <DIR>/<name>/config.pbtxt.")]
        public string? Triton { get; init; }

        [CommandOption("--name <NAME>")]
        [Description("The model's name in the Triton repository (default: the model file's name without extension).")]
        public string? Name { get; init; }

        [CommandOption("--image-size <WxH>")]
        [Description("Width x height of the camera's images, which fixes the graph's input size (default: a square image).")]
        public string? ImageSize { get; init; }

        [CommandOption("--resize")]
        [Description("Put the resize into the graph: its input is then the decoded image at --image-size (float32 [[N, 3, H, W]], RGB 0..255), " +
            "which the graph resizes exactly as the library does (opset 18; ResNet18 models only). Needs --image-size.")]
        public bool Resize { get; init; }

        [CommandOption("-v|--verbose")]
        [Description("Print stack traces on errors.")]
        public bool Verbose { get; init; }

        internal (int Width, int Height)? ParsedImageSize => ImageSize is null ? null : ParseSize(ImageSize);

        public override ValidationResult Validate()
        {
            if (Backbone is not null)
            {
                if (Model is not null) return ValidationResult.Error("--model and --backbone exclude each other: --backbone exports the encoder alone.");
                if (Out is null) return ValidationResult.Error("--backbone needs --out <FILE>, where to write the encoder's graph.");
                if (Triton is not null || Name is not null || Resize)
                    return ValidationResult.Error("--triton, --name and --resize apply to fitted models (--model), not to --backbone.");
            }
            else
            {
                if (string.IsNullOrWhiteSpace(Model)) return ValidationResult.Error("--model <FILE> (or --backbone <BACKBONE>) is required.");
                if (Vocabulary is not null) return ValidationResult.Error("--vocab applies to --backbone: a saved model records its own backbone.");
            }
            if (Triton is not null && Out is not null) return ValidationResult.Error("--out and --triton exclude each other: --triton writes its own model.onnx.");
            if (Name is not null && Triton is null) return ValidationResult.Error("--name names the model in a Triton repository; give --triton <DIR> too.");
            if (Resize && ImageSize is null)
                return ValidationResult.Error("--resize needs --image-size <WxH>: the graph's input is then the decoded image at that size (e.g. --image-size 576x768 --resize).");
            return ImageSize is not null && ParseSize(ImageSize) is null
                ? ValidationResult.Error($"--image-size must be WIDTHxHEIGHT in pixels (e.g. 640x480), not '{ImageSize}'.")
                : ValidationResult.Success();
        }

        private static (int Width, int Height)? ParseSize(string text)
        {
            var parts = text.Split('x', 'X');
            return parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int w)
                && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int h) && w > 0 && h > 0 ? (w, h) : null;
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var size = settings.ParsedImageSize;
        if (settings.Backbone is { } backbone)
            return ExportEncoder(settings, backbone, size);
        if (settings.Triton is { } repository)
            return ExportTriton(settings, repository, size);
        var output = Path.GetFullPath(settings.Out ?? Path.ChangeExtension(settings.Model!, ".onnx"));
        OutputFile.CreateFolderFor(output);
        using var model = ModelFile.Load(settings.Model!, vocabulary: null);
        OutputFile.Write(output, stream => model.ExportOnnx(stream, size?.Width, size?.Height, settings.Resize));
        var table = new Table().HideHeaders().AddColumns("", "");
        table.AddRow("onnx", Markup.Escape(output));
        table.AddRow("input", Markup.Escape(settings.Resize && size is { } s
            ? $"{OnnxExport.PixelsInput}: float32 [N, 3, {s.Height}, {s.Width}], RGB 0..255, the decoded {s.Width}x{s.Height} image (resized inside the graph), not normalised"
            : $"{OnnxExport.PixelsInput}: float32 [N, 3, H, W], RGB 0..255, resized, not normalised"));
        table.AddRow("outputs", Markup.Escape(model.Method == AnomalyMethod.Fsac
            ? $"{OnnxExport.ScoreOutput} [N], {OnnxExport.IsAnomalyOutput} [N] (no {OnnxExport.AnomalyMapOutput}: fsac's maps are gradient saliency)"
            : $"{OnnxExport.ScoreOutput} [N], {OnnxExport.IsAnomalyOutput} [N], {OnnxExport.AnomalyMapOutput} [N, h, w] on the patch grid"));
        table.AddRow("threshold", model.Threshold.ToString("F4", CultureInfo.InvariantCulture));
        console.Write(table);
        return ExitCodes.Success;
    }

    private int ExportEncoder(Settings settings, string backbone, (int Width, int Height)? size)
    {
        var output = Path.GetFullPath(settings.Out!);
        OutputFile.CreateFolderFor(output);
        using var encoder = BackboneLoader.Create(new BackboneReference(backbone) { Engine = EncoderEngine.TorchSharp }, settings.Vocabulary);
        OutputFile.Write(output, stream => EncoderExport.Write(encoder, stream, size?.Width, size?.Height));
        var layout = encoder.Layout(size?.Width ?? encoder.ImageSize, size?.Height ?? encoder.ImageSize);
        var table = new Table().HideHeaders().AddColumns("", "");
        table.AddRow("onnx", Markup.Escape(output));
        table.AddRow("encoder", Markup.Escape(encoder.Name));
        table.AddRow("input", Markup.Escape($"{OnnxExport.PixelsInput}: float32 [N, 3, {layout.Height}, {layout.Width}], RGB 0..255, resized, not normalised"));
        table.AddRow("outputs", Markup.Escape(encoder is ClipEncoder
            ? $"{EncoderExport.ImageEmbedsOutput} [N, {encoder.FeatureDim}], {EncoderExport.PatchTokensOutput} [N, P, {encoder.PatchDim}]"
            : $"{EncoderExport.PooledFeaturesOutput} [N, {encoder.FeatureDim}], {EncoderExport.PatchFeaturesOutput} [N, {encoder.PatchDim}, {layout.Height / 8}, {layout.Width / 8}]"));
        console.Write(table);
        return ExitCodes.Success;
    }

    private int ExportTriton(Settings settings, string repository, (int Width, int Height)? size)
    {
        var name = settings.Name ?? Path.GetFileNameWithoutExtension(settings.Model!);
        if (!TritonRepository.IsModelName(name))
            throw new ArgumentException($"'{name}' cannot name a Triton model: use letters, digits, '_', '-' and '.' (--name).");
        var folder = Path.GetFullPath(Path.Combine(repository, name));
        OutputFile.CreateFolderFor(Path.Combine(folder, "1", "model.onnx"));
        using var model = ModelFile.Load(settings.Model!, vocabulary: null);
        model.ExportTriton(repository, name, size?.Width, size?.Height, settings.Resize);
        var table = new Table().HideHeaders().AddColumns("", "");
        table.AddRow("repository", Markup.Escape(Path.GetFullPath(repository)));
        table.AddRow("model", Markup.Escape($"{name}: 1/model.onnx, config.pbtxt (onnxruntime backend, CPU, dynamic batching)"));
        table.AddRow("serve", Markup.Escape($"tritonserver --model-repository={Path.GetFullPath(repository)}"));
        console.Write(table);
        return ExitCodes.Success;
    }
}
