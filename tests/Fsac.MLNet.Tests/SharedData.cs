namespace Fsac.MLNet.Tests;

/// <summary>
/// Locates the workplace's shared fixtures (<c>../shared</c> beside the repository): CLIP reference
/// outputs, the BPE vocabulary and real images. They are never committed; a test that needs them
/// fails with a message saying where they were looked for (set FSAC_SHARED to override).
/// </summary>
public static class SharedData
{
    private static readonly Lazy<string?> Root = new(Find);

    /// <summary>The shared folder, or null when it cannot be found.</summary>
    public static string? TryRoot => Root.Value;

    /// <summary>Path of a file or folder inside the shared folder; fails the test clearly if it is absent.</summary>
    public static string Path(params string[] parts)
    {
        var root = Root.Value ?? throw new AssertFailedException(
            "The shared fixtures folder was not found: expected '../shared' beside the repository " +
            "(with clip-reference/ and data/), or a path in the FSAC_SHARED environment variable.");
        var p = System.IO.Path.Combine([root, .. parts]);
        if (!File.Exists(p) && !Directory.Exists(p))
            throw new AssertFailedException($"Shared fixture missing: '{p}'.");
        return p;
    }

    /// <summary>The repository root: the first folder above the test binaries that holds Fsac.MLNet.sln.</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(System.IO.Path.Combine(dir.FullName, "Fsac.MLNet.sln"))) return dir.FullName;
            throw new AssertFailedException("Fsac.MLNet.sln not found above the test binaries.");
        }
    }

    private static string? Find()
    {
        var env = Environment.GetEnvironmentVariable("FSAC_SHARED");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env)) return System.IO.Path.GetFullPath(env);
        var candidate = System.IO.Path.Combine(RepositoryRoot, "..", "shared");
        return Directory.Exists(candidate) ? System.IO.Path.GetFullPath(candidate) : null;
    }
}
