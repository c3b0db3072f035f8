using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Imaging;
using System.ComponentModel;
using System.Text.Json;
using Fsac.Cli.Inputs;
using Fsac.Cli.Outputs;
using Spectre.Console;
using Spectre.Console.Cli;
using static TorchSharp.torch;

namespace Fsac.Cli.Commands;

/// <summary>
/// <c>fsac embed</c>: CLIP features of images and texts, unnormalised as OpenCLIP's encode_image/encode_text,
/// written to a safetensors file (<c>image_features</c> [N,D], <c>text_features</c> [M,D], <c>tokens</c> [M,77]); its
/// metadata lists the image files in row order (<c>images</c>, a JSON array).
/// </summary>
public sealed class EmbedCommand(IAnsiConsole console) : Command<EmbedCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--model <MODEL>")]
        [Description("CLIP model folder (open_clip_config.json + weights + vocabulary) or published name:tag.")]
        public string Model { get; init; } = "";

        [CommandOption("--images <PATHS>")]
        [Description("Image files and/or folders (searched recursively) to encode, each file once; repeat the option, or list more after it (--images dir/*.png).")]
        public string[] Images { get; init; } = [];

        [CommandArgument(0, "[PATHS]")]
        [Description("More image files or folders, so that '--images dir/*.png' works as the shell expands it.")]
        public string[] MoreImages { get; init; } = [];

        internal string[] ImagePaths => [.. Images, .. MoreImages];

        [CommandOption("--texts <TEXT>")]
        [Description("A text to encode; repeat the option for several: --texts 'a photo of a cat' --texts 'a dog'.")]
        public string[] Texts { get; init; } = [];

        [CommandOption("--vocab <FILE>")]
        [Description("CLIP vocabulary (bpe_simple_vocab_16e6.txt.gz) for a model folder that has none; default: the folder's, else the download cache.")]
        public string? Vocabulary { get; init; }

        [CommandOption("--out <FILE>")]
        [Description("Output .safetensors file.")]
        public string Out { get; init; } = "";

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
            if (string.IsNullOrWhiteSpace(Model)) return ValidationResult.Error("--model is required.");
            if (string.IsNullOrWhiteSpace(Out)) return ValidationResult.Error("--out is required.");
            if (ImagePaths.Length == 0 && Texts.Length == 0) return ValidationResult.Error("give --images and/or --texts.");
            if (PrecisionOption.Validate(DType) is { Successful: false } dtype) return dtype;
            return EngineOption.Validate(Engine);
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken ct)
    {
        IReadOnlyList<string> files = settings.ImagePaths.Length > 0 ? ImageFiles.Expand(settings.ImagePaths, "--images") : [];
        var precision = PrecisionOption.Parse(settings.DType);
        using var encoder = BackboneLoader.Create(new BackboneReference(settings.Model, precision) { Engine = EngineOption.Parse(settings.Engine) }, settings.Vocabulary) as ClipEncoder
            ?? throw new ArgumentException($"'{settings.Model}' is not a CLIP model; fsac embed needs a text tower.");
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            using var _ = no_grad();
            if (files.Count > 0)
            {
                var images = files.Select(ImageLoader.Default.Load).ToList();
                using var pixels = encoder.Preprocess(images);
                tensors["image_features"] = encoder.EncodeImage(pixels);
                images.ForEach(i => i.Dispose());
            }
            if (settings.Texts.Length > 0)
            {
                tensors["tokens"] = encoder.Tokenizer.Tokenize(settings.Texts, encoder.Model.Config.Text.ContextLength);
                tensors["text_features"] = encoder.EncodeText(settings.Texts);
            }
            var data = tensors.ToDictionary(kv => kv.Key, kv => TensorData.FromTensor(kv.Value));
            var metadata = new Dictionary<string, string>
            {
                ["backbone"] = encoder.Name,
                ["dtype"] = settings.DType,
                ["images"] = JsonSerializer.Serialize(files),
            };
            OutputFile.Write(settings.Out, stream => SafeTensors.Write(stream, data, metadata));
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
        console.MarkupLine($"wrote [green]{Markup.Escape(settings.Out)}[/]: {files.Count} image(s), {settings.Texts.Length} text(s), backbone {Markup.Escape(encoder.Name)}");
        return ExitCodes.Success;
    }
}
