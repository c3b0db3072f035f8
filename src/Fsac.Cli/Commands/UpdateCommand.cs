using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Imaging;
using System.ComponentModel;
using Fsac.Cli.Inputs;
using Fsac.Cli.Outputs;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Fsac.Cli.Commands;

/// <summary>
/// <c>fsac update</c>: adds normal images to a saved memory model (default, patchcore) without refitting: the memory
/// grows, or is subsampled again when large, the threshold is chosen again, and the model is saved atomically.
/// </summary>
public sealed class UpdateCommand(IAnsiConsole console) : Command<UpdateCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--model <FILE>")]
        [Description("The model to grow (written by fsac fit).")]
        public string? Model { get; init; }

        [CommandOption("--normal <PATHS>")]
        [Description("New normal images: files and/or folders (searched recursively); repeat the option for several.")]
        public string[] Normal { get; init; } = [];

        [CommandArgument(0, "[PATHS]")]
        [Description("More normal images or folders.")]
        public string[] MoreNormal { get; init; } = [];

        [CommandOption("--out <FILE>")]
        [Description("Where to write the grown model (default: replace --model).")]
        public string? Out { get; init; }

        [CommandOption("--vocab <FILE>")]
        [Description("CLIP vocabulary (bpe_simple_vocab_16e6.txt.gz) when the model's CLIP folder has none; default: the folder's, else the download cache.")]
        public string? Vocabulary { get; init; }

        [CommandOption("-v|--verbose")]
        [Description("Print stack traces on errors.")]
        public bool Verbose { get; init; }

        internal string[] NormalPaths => [.. Normal, .. MoreNormal];

        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Model)) return ValidationResult.Error("--model <FILE> is required.");
            return NormalPaths.Length == 0 ? ValidationResult.Error("--normal <PATHS> is required (normal image files or folders).") : ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var files = ImageFiles.Expand(settings.NormalPaths, "--normal");
        using var model = ModelFile.Load(settings.Model!, settings.Vocabulary);
        if (!model.CanAddNormals) model.AddNormals([]); // throws NotSupportedException, which says what to do instead
        var output = Path.GetFullPath(settings.Out ?? settings.Model!);
        OutputFile.CreateFolderFor(output);
        float before = model.Threshold;
        var images = new List<Image<Rgb24>>(files.Count);
        try
        {
            foreach (var file in files) images.Add(ImageLoader.Default.Load(file));
            console.Status().Start($"adding {images.Count} normal image(s)", _ => model.AddNormals(images, cancellationToken));
        }
        finally
        {
            foreach (var image in images) image.Dispose();
        }
        OutputFile.Write(output, model.Save);
        var memory = (PatchCoreClassifier)model.Inner;
        var table = new Table().HideHeaders().AddColumns("", "");
        table.AddRow("model", Markup.Escape(output));
        table.AddRow("added", $"{images.Count} normal image(s); {memory.Shots} in all");
        table.AddRow("memory", $"{memory.MemoryPatches} patches, {memory.MemoryBytes / 1e6:F1} MB");
        table.AddRow("threshold", $"{before:F4} -> {model.Threshold:F4}");
        console.Write(table);
        return ExitCodes.Success;
    }
}
