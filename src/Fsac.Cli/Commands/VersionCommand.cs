using Fsac.MLNet.Native;
using Spectre.Console;
using Spectre.Console.Cli;
using TorchSharp;

namespace Fsac.Cli.Commands;

/// <summary><c>fsac version</c>: library version and whether libtorch loads.</summary>
public sealed class VersionCommand : Command
{
    public override int Execute(CommandContext context, CancellationToken cancellationToken)
    {
        var version = typeof(Fsac.MLNet.Encoders.IImageEncoder).Assembly.GetName().Version;
        AnsiConsole.MarkupLine($"Fsac.MLNet {version}");
        TorchRuntime.EnsureLoaded();
        AnsiConsole.MarkupLine($"libtorch threads: {torch.get_num_threads()}");
        return ExitCodes.Success;
    }
}
