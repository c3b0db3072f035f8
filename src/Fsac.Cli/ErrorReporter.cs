using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Evaluation;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Native;
using Spectre.Console.Cli;

namespace Fsac.Cli;

/// <summary>Turns exceptions into one plain line on standard error, the problem and a hint; the stack only with --verbose.</summary>
public static class ErrorReporter
{
    /// <summary>Writes the error to <paramref name="errors"/> and returns the exit code (<see cref="ExitCodes"/>).</summary>
    public static int Report(Exception ex, IReadOnlyList<string> args, ErrorConsole errors)
    {
        bool verbose = args.Contains("--verbose") || args.Contains("-v");
        var inner = ex is CommandRuntimeException && ex.InnerException is not null ? ex.InnerException : ex;
        var (code, hint) = Classify(inner);
        if (code == ExitCodes.Failure && !verbose) hint = "rerun with --verbose for the stack trace";
        errors.Error(hint is null ? inner.Message : $"{inner.Message} (hint: {hint})");
        if (verbose) errors.Writer.WriteLine(inner);
        return code;
    }

    private static (int Code, string? Hint) Classify(Exception e) => e switch
    {
        OperationCanceledException => (ExitCodes.Cancelled, null),
        ModelFileException => (ExitCodes.BadInput, "pass a model written by 'fsac fit --out <file>'; if it was cut short or edited, fit it again"),
        OutputFileException => (ExitCodes.BadInput, "check that the folder exists or can be created, is writable and has space"),
        NativeRuntimeException => (ExitCodes.NativeRuntime, null),
        CommandParseException or CommandRuntimeException => (ExitCodes.BadInput, "run 'fsac --help' or 'fsac <command> --help'"),
        EvaluationSetupException setup => (ExitCodes.BadInput, setup.Hint),
        ImageDecodeException => (ExitCodes.BadInput, "check that the file is a complete image (PNG, JPEG, BMP, GIF, TIFF or WebP)"),
        CheckpointMismatchException => (ExitCodes.BadInput, "the weights belong to another architecture than the one configured"),
        CheckpointFormatException => (ExitCodes.BadInput, "check that the file is an OpenCLIP/Hugging Face CLIP checkpoint and was fully downloaded"),
        FileNotFoundException or DirectoryNotFoundException => (ExitCodes.BadInput, "check the path"),
        UnauthorizedAccessException => (ExitCodes.BadInput, "check the file's and its folder's permissions"),
        IOException => (ExitCodes.BadInput, null),
        ArgumentException or InvalidDataException or InvalidOperationException or NotSupportedException or FormatException => (ExitCodes.BadInput, null),
        _ => (ExitCodes.Failure, null),
    };
}
