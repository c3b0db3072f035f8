using System.ComponentModel;
using Fsac.MLNet;
using Fsac.MLNet.Clip;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.IO;
using Spectre.Console;
using Spectre.Console.Cli;
using static TorchSharp.torch;

namespace Fsac.Cli.Commands;

/// <summary>
/// <c>fsac embed</c>: CLIP features of images and texts, unnormalised as OpenCLIP's encode_image/encode_text,
/// written to a safetensors file (<c>image_features</c> [N,D], <c>text_features</c> [M,D], <c>tokens</c> [M,77]).
/// </summary>
public sealed class EmbedCommand : Command<EmbedCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--model <MODEL>")]
        [Description("CLIP model folder (open_clip_config.json + weights + vocabulary) or published name:tag.")]
        public string Model { get; init; } = "";

        [CommandOption("--images <FILES>")]
        [Description("Image files to encode (repeat the option or list several).")]
        public string[] Images { get; init; } = [];

        [CommandOption("--texts <TEXTS>")]
        [Description("Texts to encode (repeat the option or list several).")]
        public string[] Texts { get; init; } = [];

        [CommandOption("--out <FILE>")]
        [Description("Output .safetensors file.")]
        public string Out { get; init; } = "";

        [CommandOption("--dtype <DTYPE>")]
        [Description("fp32 (default) or bf16.")]
        public string DType { get; init; } = "fp32";

        [CommandOption("-v|--verbose")]
        [Description("Print stack traces on errors.")]
        public bool Verbose { get; init; }

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Model)) return ValidationResult.Error("--model is required.");
            if (string.IsNullOrWhiteSpace(Out)) return ValidationResult.Error("--out is required.");
            if (Images.Length == 0 && Texts.Length == 0) return ValidationResult.Error("give --images and/or --texts.");
            return DType is "fp32" or "bf16" ? ValidationResult.Success() : ValidationResult.Error("--dtype must be fp32 or bf16.");
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken ct)
    {
        var precision = settings.DType == "bf16" ? EncoderPrecision.BFloat16 : EncoderPrecision.Float32;
        using var encoder = Backbones.Resolve(settings.Model, precision) as ClipEncoder
            ?? throw new ArgumentException($"'{settings.Model}' is not a CLIP model; fsac embed needs a text tower.");
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            using var _ = no_grad();
            if (settings.Images.Length > 0)
            {
                var images = settings.Images.Select(ImageLoader.Default.Load).ToList();
                using var pixels = encoder.Preprocess(images);
                tensors["image_features"] = encoder.EncodeImage(pixels);
                images.ForEach(i => i.Dispose());
            }
            if (settings.Texts.Length > 0)
            {
                tensors["tokens"] = encoder.Tokenizer.Tokenize(settings.Texts, encoder.Model.Config.Text.ContextLength);
                tensors["text_features"] = encoder.EncodeText(settings.Texts);
            }
            SafeTensors.Write(settings.Out, tensors, new Dictionary<string, string> { ["backbone"] = encoder.Name, ["dtype"] = settings.DType });
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
        AnsiConsole.MarkupLine($"wrote [green]{Markup.Escape(settings.Out)}[/]: {settings.Images.Length} image(s), {settings.Texts.Length} text(s), backbone {Markup.Escape(encoder.Name)}");
        return ExitCodes.Success;
    }
}
