using Fsac.MLNet;
using Fsac.MLNet.Tests.Checkpoints;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Fsac.MLNet.Tests.MLNet;

/// <summary>
/// A pipeline that cannot be saved: SaveWithFewShotAnomaly fails with a typed error naming the problem and leaves
/// the target as it was (no file, or the old file intact, and no temp file beside it); the stream overload writes
/// nothing, since every stage is serialized before the first byte.
/// </summary>
[TestClass]
public sealed class PipelineSaveFailureTests
{
    private TempDir folder = null!;

    [TestInitialize]
    public void Create() => folder = new TempDir();

    [TestCleanup]
    public void Delete() => folder.Dispose();

    public sealed class Row
    {
        public float Score { get; set; }
    }

    /// <summary>A fitted chain that cannot be saved: its FewShotAnomaly transformer is disposed, or an ML.NET stage cannot be saved.</summary>
    private static (ITransformer Model, IDataView Data) Unsaveable(MLContext ml, string why)
    {
        var (model, fewShot, data) = FittedPipeline.Fit(ml);
        if (why == "disposed")
        {
            fewShot.Dispose();
            return (model, data);
        }
        // A custom mapping without a contract name is a transformer ML.NET cannot save.
        var mapping = ml.Transforms.CustomMapping<Row, Row>((input, output) => output.Score = input.Score, contractName: null)
            .Fit(model.Transform(data));
        return (new TransformerChain<ITransformer>(model, mapping), data);
    }

    private static void AssertTypedError(string why, Exception e)
    {
        if (why == "disposed")
        {
            Assert.IsInstanceOfType<ObjectDisposedException>(e);
            Assert.AreEqual(nameof(FewShotAnomalyTransformer), ((ObjectDisposedException)e).ObjectName);
        }
        else
        {
            Assert.IsInstanceOfType<InvalidOperationException>(e, e.ToString());
            StringAssert.Contains(e.Message, "contract name");
        }
    }

    [TestMethod]
    [DataRow("disposed")]
    [DataRow("unsaveable ML.NET stage")]
    public void AFailedSaveLeavesTheOldFileIntact(string why)
    {
        var ml = new MLContext(seed: 1);
        var path = folder.File("pipeline.zip");
        File.WriteAllText(path, "the old pipeline");
        var (model, data) = Unsaveable(ml, why);

        var e = Assert.Throws<Exception>(() => ml.Model.SaveWithFewShotAnomaly(model, data.Schema, path));

        AssertTypedError(why, e);
        Assert.AreEqual("the old pipeline", File.ReadAllText(path));
        CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(folder.Path), "no temp file is left");
    }

    [TestMethod]
    public void AFailedSaveCreatesNoFile()
    {
        var ml = new MLContext(seed: 1);
        var (model, data) = Unsaveable(ml, "disposed");

        Assert.ThrowsExactly<ObjectDisposedException>(() => ml.Model.SaveWithFewShotAnomaly(model, data.Schema, folder.File("pipeline.zip")));

        Assert.IsEmpty(Directory.GetFileSystemEntries(folder.Path));
    }

    [TestMethod]
    [DataRow("disposed")]
    [DataRow("unsaveable ML.NET stage")]
    public void AFailedSaveToAStreamWritesNothing(string why)
    {
        var ml = new MLContext(seed: 1);
        var (model, data) = Unsaveable(ml, why);
        using var stream = new MemoryStream();

        var e = Assert.Throws<Exception>(() => ml.Model.SaveWithFewShotAnomaly(model, data.Schema, stream));

        AssertTypedError(why, e);
        Assert.AreEqual(0, stream.Length);
    }

    [TestMethod]
    public void MLNetsOwnSaveRefusesSayingTheFileIsIncompleteAndWhatToUse()
    {
        var ml = new MLContext(seed: 1);
        var (model, _, data) = FittedPipeline.Fit(ml);
        var path = folder.File("model.zip");

        var e = Assert.ThrowsExactly<NotSupportedException>(() => ml.Model.Save(model, data.Schema, path));

        // ML.NET created the file before asking the transformer; the message says so and names the atomic alternative.
        Assert.IsTrue(File.Exists(path), "ML.NET's Model.Save(path) creates the file first");
        StringAssert.Contains(e.Message, "incomplete");
        StringAssert.Contains(e.Message, "SaveWithFewShotAnomaly");
        StringAssert.Contains(e.Message, "atomically");
    }
}
