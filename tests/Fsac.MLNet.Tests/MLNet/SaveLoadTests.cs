using Fsac.MLNet;
using Fsac.MLNet.Head;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Fsac.MLNet.Tests.MLNet;

[TestClass]
public class SaveLoadTests
{
    private static (ITransformer Model, IDataView Data, MLContext Context) FitChain(FakeCalls calls, params ImageRow[] rows)
    {
        var ml = new MLContext(seed: 1);
        var data = TestData.View(ml, rows);
        var model = ml.Transforms.LoadImages("Image", "", nameof(ImageRow.ImagePath))
            .Append(ml.Transforms.FewShotAnomaly(new FewShotAnomalyOptions
            {
                Backbone = FakeBackboneResolver.Name,
                BackboneResolver = new FakeBackboneResolver(calls),
                Shots = 3,
                Seed = 3,
                Fsac = FsacPreset.MVTec with { ClassName = "cookie" },
            }))
            .Append(ml.Transforms.CopyColumns("AnomalyScore", "Probability"))
            .Fit(data);
        return (model, data, ml);
    }

    [TestMethod]
    public void SavedChainLoadsInANewContextWithBitIdenticalScores()
    {
        var path = Path.Combine(TestData.TempFolder(), "pipeline.zip");
        try
        {
            var (model, data, ml) = FitChain(new FakeCalls(), TestData.Cookies(normals: 5, anomalies: 3));
            var scored = model.Transform(data);
            ml.Model.SaveWithFewShotAnomaly(model, data.Schema, path);

            var fresh = new MLContext(seed: 99);
            var calls = new FakeCalls();
            var loaded = fresh.Model.LoadWithFewShotAnomaly(path, out var inputSchema, new FakeBackboneResolver(calls));
            var reloaded = loaded.Transform(TestData.View(fresh, TestData.Cookies(normals: 5, anomalies: 3)));

            Assert.AreEqual(TextDataViewType.Instance, inputSchema[nameof(ImageRow.ImagePath)].Type);
            Assert.HasCount(3, loaded.ToArray(), "LoadImages, FewShotAnomaly, CopyColumns");
            Assert.IsInstanceOfType<FewShotAnomalyTransformer>(loaded.ElementAt(1));
            foreach (var column in new[] { "Score", "Probability", "AnomalyScore" })
                CollectionAssert.AreEqual(scored.GetColumn<float>(column).ToArray(), reloaded.GetColumn<float>(column).ToArray(), column);
            CollectionAssert.AreEqual(scored.GetColumn<bool>("PredictedLabel").ToArray(), reloaded.GetColumn<bool>("PredictedLabel").ToArray());
            Assert.AreEqual(0, calls.Fits, "loading does not refit");
            Assert.AreEqual("cookie", calls.LastOptions!.Fsac.ClassName, "the fit options travel with the model");
            Assert.AreEqual(FakeBackboneResolver.Name, calls.LastOptions.Backbone);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [TestMethod]
    public void AChainStartingWithTheTransformerRoundTripsThroughAStream()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Transforms.LoadImages("Image", "", nameof(ImageRow.ImagePath))
            .Fit(TestData.View(ml, TestData.Cookies(normals: 4, anomalies: 1)))
            .Transform(TestData.View(ml, TestData.Cookies(normals: 4, anomalies: 1)));
        var transformer = ml.Transforms.FewShotAnomaly(new FewShotAnomalyOptions
        {
            Backbone = FakeBackboneResolver.Name, BackboneResolver = new FakeBackboneResolver(new FakeCalls()), Shots = 2, Seed = 1,
        }).Fit(data);

        using var stream = new MemoryStream();
        ml.Model.SaveWithFewShotAnomaly(transformer, data.Schema, stream);
        stream.Position = 0;
        var loaded = new MLContext().Model.LoadWithFewShotAnomaly(stream, out var schema, new FakeBackboneResolver(new FakeCalls()));

        // ML.NET stores the input schema without the columns it cannot serialise (the MLImage column here).
        CollectionAssert.AreEqual(new[] { nameof(ImageRow.ImagePath), nameof(ImageRow.Label) }, schema.Select(c => c.Name).ToArray());
        CollectionAssert.AreEqual(transformer.Transform(data).GetColumn<float>("Score").ToArray(),
            loaded.Transform(data).GetColumn<float>("Score").ToArray());
    }

    [TestMethod]
    public void MLNetModelSaveOnTheChainThrowsPointingToSaveWithFewShotAnomaly()
    {
        var (model, data, ml) = FitChain(new FakeCalls(), TestData.Cookies(normals: 3, anomalies: 0));
        using var stream = new MemoryStream();

        var error = Assert.ThrowsExactly<NotSupportedException>(() => ml.Model.Save(model, data.Schema, stream));

        StringAssert.Contains(error.Message, "SaveWithFewShotAnomaly");
        StringAssert.Contains(error.Message, "LoadWithFewShotAnomaly");
    }

    [TestMethod]
    public void LoadingWithoutTheBackboneFailsNamingIt()
    {
        var (model, data, ml) = FitChain(new FakeCalls(), TestData.Cookies(normals: 3, anomalies: 0));
        using var stream = new MemoryStream();
        ml.Model.SaveWithFewShotAnomaly(model, data.Schema, stream);
        stream.Position = 0;

        var error = Assert.ThrowsExactly<InvalidOperationException>(() => new MLContext().Model.LoadWithFewShotAnomaly(stream, out _));

        StringAssert.Contains(error.Message, FakeBackboneResolver.Identity);
        StringAssert.Contains(error.Message, "cannot be loaded here");
        StringAssert.Contains(error.Message, $"The backbone '{FakeBackboneResolver.Name}' is not available");
    }

    [TestMethod]
    public void LoadingAPlainMLNetModelFileSaysWhatItIs()
    {
        var ml = new MLContext(seed: 1);
        var data = TestData.View(ml, TestData.Cookies(normals: 1, anomalies: 0));
        using var stream = new MemoryStream();
        ml.Model.Save(ml.Transforms.CopyColumns("Copy", nameof(ImageRow.ImagePath)).Fit(data), data.Schema, stream);
        stream.Position = 0;

        var error = Assert.ThrowsExactly<InvalidDataException>(() => ml.Model.LoadWithFewShotAnomaly(stream, out _));

        StringAssert.Contains(error.Message, "mlContext.Model.Load");
    }
}
