using Fsac.Cli;
using Fsac.Cli.Commands;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("fsac");
    config.SetExceptionHandler((ex, _) => ErrorReporter.Report(ex, args));
    config.AddCommand<VersionCommand>("version").WithDescription("Print the library and native runtime versions.");
    config.AddCommand<SynthCommand>("synth").WithDescription("Write synthetic anomalies of an image, their masks and a grid.png to look at.");
});
return await app.RunAsync(args);
