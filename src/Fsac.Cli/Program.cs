using Fsac.Cli;
using Fsac.Cli.Commands;
using Spectre.Console;
using Spectre.Console.Cli;

// Ctrl-C cancels the token that commands receive; they stop between images or epochs and exit with 130.
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("fsac");
    config.SetExceptionHandler((ex, resolver) => ErrorReporter.Report(ex, args, resolver?.Resolve(typeof(IAnsiConsole)) as IAnsiConsole ?? AnsiConsole.Console));
    config.AddCommand<FitCommand>("fit").WithDescription("Fit a few-shot method (default, patchcore or fsac) on k normal images and save the model (.fsac).");
    config.AddCommand<PredictCommand>("predict").WithDescription("Score images with a saved model: anomaly score, decision and anomaly heatmaps.");
    config.AddCommand<UpdateCommand>("update").WithDescription("Add normal images to a saved memory model without refitting.");
    config.AddCommand<ExportCommand>("export").WithDescription("Write a saved PatchCore model (default, patchcore) as an ONNX graph for ONNX Runtime.");
    config.AddCommand<BenchCommand>("bench").WithDescription("Measure encoder throughput, matmul peak and memory.");
    config.AddCommand<EmbedCommand>("embed").WithDescription("Write CLIP image and text features to a safetensors file.");
    config.AddCommand<DownloadCommand>("download").WithDescription("Download published CLIP weights (name:tag) into the cache.");
    config.AddCommand<VersionCommand>("version").WithDescription("Print the library and native runtime versions.");
    config.AddCommand<SynthCommand>("synth").WithDescription("Write synthetic anomalies of an image, their masks and a grid.png to look at.");
    config.AddCommand<EvalCommand>("eval").WithDescription("Run the paper's few-shot protocol over a data set: results.json, results.md and figures.");
});
return await app.RunAsync(args, cancellation.Token);
