using Fsac.MLNet.Encoders;
using Fsac.MLNet.Native;
using Spectre.Console;
using Spectre.Console.Cli;
using TorchSharp;

namespace Fsac.Cli.Commands;

/// <summary><c>fsac version</c>: library version, whether libtorch loads, and from which files.</summary>
public sealed class VersionCommand : Command
{
    public override int Execute(CommandContext context, CancellationToken cancellationToken)
    {
        var version = typeof(Fsac.MLNet.Encoders.IImageEncoder).Assembly.GetName().Version;
        AnsiConsole.MarkupLine($"Fsac.MLNet {version}");
        TorchRuntime.EnsureLoaded();
        AnsiConsole.MarkupLine($"libtorch threads: {torch.get_num_threads()}");
        // Whole lines (Spectre would fold a long path at the console width), for people and scripts to read.
        foreach (var path in TorchRuntime.LoadedLibraries) Console.WriteLine($"native library: {path}");
        return ExitCodes.Success;
    }
}
