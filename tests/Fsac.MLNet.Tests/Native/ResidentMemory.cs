namespace Fsac.MLNet.Tests.Native;

/// <summary>The process's resident anonymous memory (heap pages, not mapped files), read from <c>/proc/self/status</c>.</summary>
internal static class ResidentMemory
{
    /// <summary>Marks the calling test inconclusive where there is no <c>/proc/self/status</c> (systems other than Linux).</summary>
    public static void RequireProcStatus()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/proc/self/status"))
            Assert.Inconclusive("Resident memory is read from /proc/self/status, which only Linux has.");
    }

    /// <summary>The <c>RssAnon</c> line of <c>/proc/self/status</c>, in KB.</summary>
    public static long AnonymousKilobytes()
        => long.Parse(File.ReadLines("/proc/self/status").First(l => l.StartsWith("RssAnon:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
}
