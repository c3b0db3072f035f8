using Fsac.MLNet;
using Fsac.MLNet.Tests.Checkpoints;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Fsac.MLNet.Tests.MLNet;

/// <summary>
/// The <see cref="MLContext"/> overloads (<c>mlContext.FewShotAnomaly</c>, <c>mlContext.SaveWithFewShotAnomaly</c>,
/// <c>mlContext.LoadWithFewShotAnomaly</c>) behave as the catalog overloads, through ML.NET's public API only.
/// </summary>
[TestClass]
public sealed class MLContextOverloadTests
{
    private static FewShotAnomalyOptions FakeOptions(FakeCalls calls) => new()
    {
        ImageColumnName = nameof(ImageRow.ImagePath),
        Backbone = FakeBackboneResolver.Name,
        BackboneResolver = new FakeBackboneResolver(calls),
        Shots = 2,
    };

    [TestMethod]
    public void TheContextOverloadLogsToTheContextAndDrawsTheShotsTheCatalogOverloadDraws()
    {
        (IReadOnlyList<float> Shots, List<string> Messages) Fit(Func<MLContext, FewShotAnomalyOptions, FewShotAnomalyEstimator> create)
        {
            var ml = new MLContext(seed: 3);
            var messages = new List<string>();
            ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
            var calls = new FakeCalls();
            using var transformer = create(ml, FakeOptions(calls)).Fit(TestData.View(ml, TestData.Cookies(normals: 6, anomalies: 0)));
            return (calls.LastShots, messages);
        }

        var context = Fit((ml, options) => ml.FewShotAnomaly(options));
        var catalog = Fit((ml, options) => ml.Transforms.FewShotAnomaly(options));

        CollectionAssert.AreEqual(catalog.Shots.ToArray(), context.Shots.ToArray(), "the same context seed draws the same shots");
        Assert.IsTrue(context.Messages.Any(m => m.Contains("fake fit")), "the trainer's messages reach the context's Log");
    }

    [TestMethod]
    public void TheSimpleContextOverloadNamesItsColumns()
    {
        var ml = new MLContext(seed: 1);
        var shape = TestData.ShapeOf(TestData.View(ml, TestData.Cookies(1, 0)).Schema);

        var output = ml.FewShotAnomaly(imageColumnName: nameof(ImageRow.ImagePath), scoreColumnName: "S",
            predictedLabelColumnName: "P", probabilityColumnName: "Q").GetOutputSchema(shape);

        CollectionAssert.AreEqual(new[] { "ImagePath", "Label", "S", "P", "Q" }, output.Select(c => c.Name).ToArray());
    }

    [TestMethod]
    public void TheContextOverloadsSaveAndLoadThroughTheContextsTempFolder()
    {
        using var folder = new TempDir();
        var ml = new MLContext(seed: 1) { TempFilePath = folder.File("not/yet") };
        var (model, _, data) = FittedPipeline.Fit(ml);
        var path = folder.File("pipeline.zip");
        var stream = new MemoryStream();

        ml.SaveWithFewShotAnomaly(model, data.Schema, path);
        Assert.IsTrue(Directory.Exists(folder.File("not/yet")), "the missing temp folder is created");
        Directory.Delete(folder.File("not"), recursive: true);
        ml.SaveWithFewShotAnomaly(model, data.Schema, stream);
        stream.Position = 0;
        var fromFile = ml.LoadWithFewShotAnomaly(path, out var fileSchema, new FakeBackboneResolver(new FakeCalls()));
        var fromStream = ml.LoadWithFewShotAnomaly(stream, out var streamSchema, new FakeBackboneResolver(new FakeCalls()));

        var expected = model.Transform(data).GetColumn<float>("Score").ToArray();
        foreach (var (loaded, schema) in new[] { (fromFile, fileSchema), (fromStream, streamSchema) })
        {
            Assert.AreEqual(data.Schema.Count, schema.Count);
            CollectionAssert.AreEqual(expected, loaded.Transform(data).GetColumn<float>("Score").ToArray());
        }
    }

    [TestMethod]
    public void AContextTempFolderThatCannotBeCreatedIsNamedOnSaveAndOnLoad()
    {
        using var folder = new TempDir();
        File.WriteAllText(folder.File("file"), "");
        var uncreatable = Path.Combine(folder.File("file"), "tmp");
        var ml = new MLContext(seed: 1) { TempFilePath = uncreatable };
        var (model, _, data) = FittedPipeline.Fit(ml);
        var path = folder.File("pipeline.zip");

        var save = Assert.ThrowsExactly<IOException>(() => ml.SaveWithFewShotAnomaly(model, data.Schema, path));
        new MLContext(seed: 1).SaveWithFewShotAnomaly(model, data.Schema, path);
        var load = Assert.ThrowsExactly<IOException>(() => ml.LoadWithFewShotAnomaly(path, out _, new FakeBackboneResolver(new FakeCalls())));

        foreach (var e in new[] { save, load })
        {
            StringAssert.Contains(e.Message, $"'{uncreatable}'");
            StringAssert.Contains(e.Message, "cannot be created or written");
        }
        Assert.IsFalse(File.Exists(path + ".tmp"));
    }
}
