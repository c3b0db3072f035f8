using Fsac.Cli.Commands;
using Spectre.Console.Cli;

namespace Fsac.Cli;

/// <summary>
/// The <c>fsac</c> command line, as the program and the tests run it: its commands, strict parsing (an unknown or
/// misspelt option is an error, not ignored), and errors as one line on standard error.
/// </summary>
public static class FsacApp
{
    /// <summary>Configures <paramref name="config"/> for a run with <paramref name="args"/>; errors go to <paramref name="errors"/>.</summary>
    public static void Configure(IConfigurator config, IReadOnlyList<string> args, TextWriter errors)
    {
        var errorConsole = new ErrorConsole(errors);
        config.SetApplicationName("fsac");
        config.UseStrictParsing();
        config.Settings.Registrar.RegisterInstance(errorConsole);
        config.SetExceptionHandler((ex, _) => ErrorReporter.Report(ex, args, errorConsole));
        config.AddCommand<FitCommand>("fit").WithDescription("Fit a few-shot method (default, patchcore or fsac) on k normal images and save the model (.fsac).");
        config.AddCommand<PredictCommand>("predict").WithDescription("Score images with a saved model: anomaly score, decision and anomaly heatmaps.");
        config.AddCommand<UpdateCommand>("update").WithDescription("Add normal images to a saved memory model without refitting.");
        config.AddCommand<ExportCommand>("export").WithDescription("Write a saved model (any method), or a frozen encoder (--backbone), as an ONNX graph for ONNX Runtime.");
        config.AddCommand<BenchCommand>("bench").WithDescription("Measure encoder throughput, matmul peak and memory.");
        config.AddCommand<EmbedCommand>("embed").WithDescription("Write CLIP image and text features to a safetensors file.");
        config.AddCommand<DownloadCommand>("download").WithDescription("Download published CLIP weights (name:tag) into the cache.");
        config.AddCommand<VersionCommand>("version").WithDescription("Print the library and native runtime versions.");
        config.AddCommand<SynthCommand>("synth").WithDescription("Write synthetic anomalies of an image, their masks and a grid.png to look at.");
        config.AddCommand<EvalCommand>("eval").WithDescription("Run the paper's few-shot protocol over a data set: results.json, results.md and figures.");
    }
}
