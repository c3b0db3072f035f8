using Fsac.Cli;
using Fsac.Cli.Commands;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("fsac");
    config.SetExceptionHandler((ex, _) => ErrorReporter.Report(ex, args));
    config.AddCommand<BenchCommand>("bench").WithDescription("Measure encoder throughput, matmul peak and memory.");
    config.AddCommand<EmbedCommand>("embed").WithDescription("Write CLIP image and text features to a safetensors file.");
    config.AddCommand<DownloadCommand>("download").WithDescription("Download published CLIP weights (name:tag) into the cache.");
    config.AddCommand<VersionCommand>("version").WithDescription("Print the library and native runtime versions.");
    config.AddCommand<SynthCommand>("synth").WithDescription("Write synthetic anomalies of an image, their masks and a grid.png to look at.");
    config.AddCommand<EvalCommand>("eval").WithDescription("Run the paper's few-shot protocol over a data set: results.json, results.md and figures.");
});
return await app.RunAsync(args);
