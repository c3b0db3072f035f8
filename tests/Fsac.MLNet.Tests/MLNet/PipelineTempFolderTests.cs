using Fsac.MLNet.Tests.Checkpoints;
using Microsoft.ML;

namespace Fsac.MLNet.Tests.MLNet;

/// <summary>
/// ML.NET stages its Model.Save and Load entries in the context's temp folder (from TMPDIR when the context is
/// created): a missing one is created, one that cannot be is named in an <see cref="IOException"/>.
/// </summary>
[TestClass]
public sealed class PipelineTempFolderTests
{
    private TempDir folder = null!;

    [TestInitialize]
    public void Create() => folder = new TempDir();

    [TestCleanup]
    public void Delete() => folder.Dispose();

    /// <summary>A context created while TMPDIR is <paramref name="tmpdir"/> (it reads it then); TMPDIR is restored at once.</summary>
    private static MLContext ContextWithTmpdir(string tmpdir)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) Assert.Inconclusive("TMPDIR sets the temp folder on Unix only.");
        var saved = Environment.GetEnvironmentVariable("TMPDIR");
        Environment.SetEnvironmentVariable("TMPDIR", tmpdir);
        try
        {
            return new MLContext(seed: 1);
        }
        finally
        {
            Environment.SetEnvironmentVariable("TMPDIR", saved);
        }
    }

    /// <summary>A folder that cannot be created anywhere: its parent is a regular file.</summary>
    private string Uncreatable()
    {
        File.WriteAllText(folder.File("file"), "");
        return Path.Combine(folder.File("file"), "tmp");
    }

    [TestMethod]
    public void ATmpdirThatCannotBeCreatedIsNamedOnSaveAndOnLoad()
    {
        var tmpdir = Uncreatable();
        var ml = ContextWithTmpdir(tmpdir);
        var (model, _, data) = FittedPipeline.Fit(ml);
        var path = folder.File("pipeline.zip");

        var save = Assert.ThrowsExactly<IOException>(() => ml.Model.SaveWithFewShotAnomaly(model, data.Schema, path));
        new MLContext(seed: 1).Model.SaveWithFewShotAnomaly(model, data.Schema, path);
        var load = Assert.ThrowsExactly<IOException>(() => ml.Model.LoadWithFewShotAnomaly(path, out _, new FakeBackboneResolver(new FakeCalls())));

        foreach (var e in new[] { save, load })
        {
            StringAssert.Contains(e.Message, $"'{tmpdir}");
            StringAssert.Contains(e.Message, "TMPDIR");
            StringAssert.Contains(e.Message, "cannot be created or written");
        }
    }

    [TestMethod]
    public void AMissingTempFolderIsCreated()
    {
        var ml = new MLContext(seed: 1) { TempFilePath = folder.File("not/yet") };
        var (model, _, data) = FittedPipeline.Fit(ml);
        var path = folder.File("pipeline.zip");

        ml.Model.SaveWithFewShotAnomaly(model, data.Schema, path);
        Directory.Delete(folder.File("not"), recursive: true);
        var loaded = ml.Model.LoadWithFewShotAnomaly(path, out _, new FakeBackboneResolver(new FakeCalls()));

        Assert.HasCount(2, loaded.ToArray());
        Assert.IsTrue(Directory.Exists(folder.File("not/yet")));
    }
}
