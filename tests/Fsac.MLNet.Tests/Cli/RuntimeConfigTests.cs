using System.Text.Json;

namespace Fsac.MLNet.Tests.Cli;

/// <summary>The runtime settings the fsac tool is built with.</summary>
[TestClass]
public class RuntimeConfigTests
{
    [TestMethod]
    public void TheToolRunsTheGarbageCollectorInConserveMemoryMode()
    {
        // The test output holds the referenced tool's runtimeconfig.json as the build wrote it for fsac.dll.
        var path = Path.Combine(AppContext.BaseDirectory, "fsac.runtimeconfig.json");
        using var config = JsonDocument.Parse(File.ReadAllText(path));
        var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");
        Assert.IsTrue(properties.TryGetProperty("System.GC.ConserveMemory", out var level), $"no System.GC.ConserveMemory in {path}");
        Assert.AreEqual(5, level.GetInt32());
    }
}
