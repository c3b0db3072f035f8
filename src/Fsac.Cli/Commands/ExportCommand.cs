using System.ComponentModel;
using System.Globalization;
using Fsac.Cli.Inputs;
using Fsac.Cli.Outputs;
using Fsac.MLNet.Export;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Fsac.Cli.Commands;

/// <summary>
/// <c>fsac export</c>: writes a saved PatchCore model (default, patchcore) as one ONNX graph
/// (<see cref="Fsac.MLNet.Classification.FewShotAnomalyClassifier.ExportOnnx(string, int?, int?)"/>): resized RGB
/// pixels in, score, decision and patch-grid anomaly map out.
/// </summary>
public sealed class ExportCommand(IAnsiConsole console) : Command<ExportCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--model <FILE>")]
        [Description("The model to export (written by fsac fit).")]
        public string? Model { get; init; }

        [CommandOption("--out <FILE>")]
        [Description("Where to write the ONNX file (default: the model's path with .onnx).")]
        public string? Out { get; init; }

        [CommandOption("--image-size <WxH>")]
        [Description("Width x height of the camera's images, which fixes the graph's input size (default: a square image).")]
        public string? ImageSize { get; init; }

        [CommandOption("-v|--verbose")]
        [Description("Print stack traces on errors.")]
        public bool Verbose { get; init; }

        internal (int Width, int Height)? ParsedImageSize => ImageSize is null ? null : ParseSize(ImageSize);

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Model)) return ValidationResult.Error("--model <FILE> is required.");
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
        var output = Path.GetFullPath(settings.Out ?? Path.ChangeExtension(settings.Model!, ".onnx"));
        OutputFile.CreateFolderFor(output);
        using var model = ModelFile.Load(settings.Model!, vocabulary: null);
        var size = settings.ParsedImageSize;
        OutputFile.Write(output, stream => model.ExportOnnx(stream, size?.Width, size?.Height));
        var table = new Table().HideHeaders().AddColumns("", "");
        table.AddRow("onnx", Markup.Escape(output));
        table.AddRow("input", Markup.Escape($"{OnnxExport.PixelsInput}: float32 [N, 3, H, W], RGB 0..255, resized, not normalised"));
        table.AddRow("outputs", Markup.Escape($"{OnnxExport.ScoreOutput} [N], {OnnxExport.IsAnomalyOutput} [N], {OnnxExport.AnomalyMapOutput} [N, H/8, W/8]"));
        table.AddRow("threshold", model.Threshold.ToString("F4", CultureInfo.InvariantCulture));
        console.Write(table);
        return ExitCodes.Success;
    }
}
