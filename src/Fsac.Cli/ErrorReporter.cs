using Fsac.MLNet.Evaluation;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.IO;
using Fsac.MLNet.Native;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Fsac.Cli;

/// <summary>Turns exceptions into one readable line plus a hint; the stack only with --verbose.</summary>
public static class ErrorReporter
{
    public static int Report(Exception ex, IReadOnlyList<string> args)
    {
        bool verbose = args.Contains("--verbose") || args.Contains("-v");
        var inner = ex is CommandRuntimeException && ex.InnerException is not null ? ex.InnerException : ex;
        var (code, hint) = Classify(inner);
        AnsiConsole.MarkupLine($"[red]error:[/] {Markup.Escape(inner.Message)}");
        if (hint is not null) AnsiConsole.MarkupLine($"[grey]hint: {Markup.Escape(hint)}[/]");
        if (verbose) AnsiConsole.WriteException(inner);
        else if (code == ExitCodes.Failure) AnsiConsole.MarkupLine("[grey]rerun with --verbose for the stack trace[/]");
        return code;
    }

    private static (int Code, string? Hint) Classify(Exception e) => e switch
    {
        OperationCanceledException => (ExitCodes.Cancelled, null),
        NativeRuntimeException => (ExitCodes.NativeRuntime, null),
        CommandParseException or CommandRuntimeException => (ExitCodes.BadInput, "run 'fsac --help' or 'fsac <command> --help'"),
        EvaluationSetupException setup => (ExitCodes.BadInput, setup.Hint),
        ImageDecodeException => (ExitCodes.BadInput, "check that the file is a complete image (PNG, JPEG, BMP, GIF, TIFF or WebP)"),
        CheckpointMismatchException => (ExitCodes.BadInput, "the weights belong to another architecture than the one configured"),
        CheckpointFormatException => (ExitCodes.BadInput, "check that the file is an OpenCLIP/Hugging Face CLIP checkpoint and was fully downloaded"),
        FileNotFoundException or DirectoryNotFoundException => (ExitCodes.BadInput, "check the path"),
        ArgumentException or InvalidDataException or InvalidOperationException or NotSupportedException or FormatException => (ExitCodes.BadInput, null),
        _ => (ExitCodes.Failure, null),
    };
}
