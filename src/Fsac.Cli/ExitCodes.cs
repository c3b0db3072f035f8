namespace Fsac.Cli;

/// <summary>Process exit codes of <c>fsac</c> (documented in the README).</summary>
public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>Unexpected failure (a bug): rerun with --verbose and report it.</summary>
    public const int Failure = 1;
    /// <summary>
    /// Bad command line, bad input (missing file, corrupt image, wrong checkpoint, vocabulary or model file) or an
    /// environment that refuses the work (an output that cannot be written: no permission, no space, a folder in the
    /// way); <c>fsac predict</c> also ends with it when it skipped unreadable images after scoring the others.
    /// </summary>
    public const int BadInput = 2;
    /// <summary>The native runtime (libtorch) could not be loaded.</summary>
    public const int NativeRuntime = 3;
    /// <summary>Stopped by Ctrl-C.</summary>
    public const int Cancelled = 130;
}
