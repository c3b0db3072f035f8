using System.Diagnostics;

namespace Fsac.MLNet.Tests.Checkpoints;

/// <summary>Named pipes, for tests of loaders given one: opening a FIFO for reading blocks until a writer comes.</summary>
internal static class Fifo
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    /// <summary>Creates a FIFO at <paramref name="path"/> with mkfifo; the test is inconclusive where there are none.</summary>
    public static void Create(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) Assert.Inconclusive("FIFOs are a Unix test.");
        using var mkfifo = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
        Assert.IsTrue(mkfifo.WaitForExit(10_000), "mkfifo did not finish");
        Assert.AreEqual(0, mkfifo.ExitCode, "mkfifo failed");
    }

    /// <summary>
    /// Runs <paramref name="load"/> on another thread and returns what it threw, which must be a <typeparamref name="T"/>.
    /// Fails when it has not ended within 10 s, after opening <paramref name="fifo"/> for writing so that a reader
    /// blocked on it is released and no thread stays stuck.
    /// </summary>
    public static T AssertThrowsWithoutBlocking<T>(string fifo, Action load) where T : Exception
    {
        var task = Task.Run(load);
        bool ended;
        try
        {
            ended = task.Wait(Limit);
        }
        catch (AggregateException)
        {
            ended = true;
        }
        if (!ended)
        {
            using (new FileStream(fifo, FileMode.Open, FileAccess.Write)) { }
            Assert.Fail($"loading the FIFO '{fifo}' did not return within {Limit.TotalSeconds} s");
        }
        var error = task.Exception?.InnerException;
        Assert.IsNotNull(error, $"loading the FIFO '{fifo}' succeeded");
        Assert.IsInstanceOfType<T>(error, $"{error.GetType().Name}: {error.Message}");
        return (T)error;
    }
}
