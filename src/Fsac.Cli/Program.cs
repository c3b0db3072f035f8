using Fsac.Cli;
using Spectre.Console.Cli;

// Ctrl-C cancels the token that commands receive; they stop between images or epochs and exit with 130.
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};

var app = new CommandApp();
app.Configure(config => FsacApp.Configure(config, args, Console.Error));
return await app.RunAsync(args, cancellation.Token);
