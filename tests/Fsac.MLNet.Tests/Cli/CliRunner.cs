using Fsac.Cli;
using Spectre.Console.Cli.Testing;

namespace Fsac.MLNet.Tests.Cli;

/// <summary>What an in-process run of <c>fsac</c> printed: stdout (Spectre's test console) and stderr apart.</summary>
internal sealed record CliRun(int ExitCode, string Output, string Error)
{
    /// <summary>The lines written to stderr.</summary>
    public string[] ErrorLines => Error.Length == 0 ? [] : Error.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');

    /// <summary>The whole run, for assertion messages.</summary>
    public override string ToString() => $"exit {ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}";
}

/// <summary>Runs <c>fsac</c> in-process, configured exactly as the program is (<see cref="FsacApp"/>).</summary>
internal static class CliRunner
{
    public static CliRun Run(params string[] args)
    {
        var errors = new StringWriter();
        var app = new CommandAppTester();
        app.Configure(config => FsacApp.Configure(config, args, errors));
        var result = app.Run(args);
        return new CliRun(result.ExitCode, result.Output, errors.ToString());
    }
}
