namespace Fsac.Cli;

/// <summary>Process exit codes of <c>fsac</c> (documented in the README).</summary>
public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>Unexpected failure (a bug): rerun with --verbose and report it.</summary>
    public const int Failure = 1;
    /// <summary>
    /// Bad command line or bad input (missing file, corrupt image, wrong checkpoint or model file); <c>fsac predict</c>
    /// also ends with it when it skipped unreadable images after scoring the others.
    /// </summary>
    public const int BadInput = 2;
    /// <summary>The native runtime (libtorch) could not be loaded.</summary>
    public const int NativeRuntime = 3;
    /// <summary>Stopped by Ctrl-C.</summary>
    public const int Cancelled = 130;
}
