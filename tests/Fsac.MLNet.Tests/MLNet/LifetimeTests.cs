using Fsac.MLNet;
using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.PatchCore;
using Fsac.MLNet.Pipeline;
using Fsac.MLNet.Tests.TestDoubles;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.MLNet;

/// <summary>
/// The fitted model is shared by the transformer and every prediction engine made from it. ML.NET's PredictionEngine
/// disposes its transformer when it is disposed itself (OwnsTransformer, the default), so disposing one engine must
/// not free the model under the other engines or the transformer; the model is freed when the last holder lets go.
/// ML.NET's TransformerChain forwards only its first Dispose (it keeps a disposed flag), so with a chain whose first
/// Dispose came from an engine the model cannot be freed deterministically afterwards; the tests that check the exact
/// moment of release therefore use the FewShotAnomalyTransformer itself, or a chain that no engine disposed.
/// </summary>
[TestClass]
public sealed class LifetimeTests
{
    private static string folder = "";

    /// <summary>4 normal and 2 anomalous cookies, shrunk to 48x64 PNGs so that each of the many predictions decodes fast.</summary>
    private static ImageRow[] Rows { get; set; } = [];

    [ClassInitialize]
    public static void CreateImages(TestContext _)
    {
        folder = TestData.TempFolder();
        Rows = TestData.SmallPngCookies(folder, normals: 4, anomalies: 2);
    }

    [ClassCleanup]
    public static void DeleteImages()
    {
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
    }

    private static FewShotAnomalyOptions FakeOptions(FakeCalls calls, string? imageColumn = null) => new()
    {
        Backbone = FakeBackboneResolver.Name,
        BackboneResolver = new FakeBackboneResolver(calls),
        Shots = 3,
        Seed = 7,
        ImageColumnName = imageColumn ?? "Image",
    };

    private static TransformerChain<FewShotAnomalyTransformer> FitChain(MLContext ml, IDataView data, FewShotAnomalyOptions options) =>
        ml.Transforms.LoadImages("Image", "", nameof(ImageRow.ImagePath)).Append(ml.Transforms.FewShotAnomaly(options)).Fit(data);

    private static AnomalyPrediction PredictOnce(MLContext ml, ITransformer model, string path)
    {
        using var engine = ml.Model.CreatePredictionEngine<ImagePathInput, AnomalyPrediction>(model);
        return engine.Predict(new ImagePathInput { ImagePath = path });
    }

    private static void AssertSame(AnomalyPrediction expected, AnomalyPrediction actual, string what)
    {
        Assert.AreEqual(expected.Score, actual.Score, what);
        Assert.AreEqual(expected.Probability, actual.Probability, what);
        Assert.AreEqual(expected.PredictedLabel, actual.PredictedLabel, what);
    }

    private static float[] Scores(IDataView scored) => scored.GetColumn<float>("Score").ToArray();

    private static FewShotAnomalyOptions TinyOptions(List<GatedEncoder> encoders, string? imageColumn = null) => new()
    {
        Backbone = "tiny",
        BackboneResolver = new TinyResolver(encoders),
        Shots = 3,
        Seed = 7,
        ImageColumnName = imageColumn ?? "Image",
    };

    [TestMethod]
    public void PerRequestEnginesOfAChainOnFourThreadsAgreeAndNeverFreeTheModelUnderTheOthers()
    {
        var ml = new MLContext(seed: 1);
        var calls = new FakeCalls();
        var rows = Rows;
        var data = TestData.View(ml, rows);
        var model = FitChain(ml, data, FakeOptions(calls));
        var fake = (FakeAnomalyModel)model.LastTransformer.Model;
        var serial = rows.Select(r => PredictOnce(ml, model, r.ImagePath)).ToArray();
        Assert.IsFalse(fake.Disposed, "disposing the serial engines did not free the model");

        using var start = new Barrier(4);
        var workers = Enumerable.Range(0, 4).Select(t => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            var results = new List<(int Row, AnomalyPrediction Prediction)>();
            for (var i = 0; i < 25; i++)
            {
                var row = (t + i) % rows.Length;
                using var engine = ml.Model.CreatePredictionEngine<ImagePathInput, AnomalyPrediction>(model);
                results.Add((row, engine.Predict(new ImagePathInput { ImagePath = rows[row].ImagePath })));
            }
            return results;
        }, TaskCreationOptions.LongRunning)).ToArray();
        Task.WaitAll(workers);

        var all = workers.SelectMany(w => w.Result).ToList();
        Assert.HasCount(100, all);
        foreach (var (row, prediction) in all) AssertSame(serial[row], prediction, $"row {row}");
        Assert.IsFalse(fake.Disposed, "106 engines disposed, but the transformer still holds the model");
        CollectionAssert.AreEqual(serial.Select(p => p.Score).ToArray(), Scores(model.Transform(data)), "the chain still transforms");
        AssertSame(serial[0], PredictOnce(ml, model, rows[0].ImagePath), "and makes new engines");
        model.Dispose();
    }

    [TestMethod]
    public void PerRequestEnginesOnTheTransformerOnFourThreadsKeepTheModelUntilTheTransformerIsDisposed()
    {
        var ml = new MLContext(seed: 1);
        var rows = Rows;
        var data = TestData.View(ml, rows);
        var transformer = ml.Transforms.FewShotAnomaly(FakeOptions(new FakeCalls(), nameof(ImageRow.ImagePath))).Fit(data);
        var fake = (FakeAnomalyModel)transformer.Model;
        var serial = rows.Select(r => PredictOnce(ml, transformer, r.ImagePath)).ToArray();
        CollectionAssert.AreEqual(serial.Select(p => p.Score).ToArray(), Scores(transformer.Transform(data)));

        using var start = new Barrier(4);
        var workers = Enumerable.Range(0, 4).Select(t => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            return Enumerable.Range(0, 25).Select(i =>
            {
                var row = (t + i) % rows.Length;
                return (Row: row, Prediction: PredictOnce(ml, transformer, rows[row].ImagePath));
            }).ToList();
        }, TaskCreationOptions.LongRunning)).ToArray();
        Task.WaitAll(workers);

        foreach (var (row, prediction) in workers.SelectMany(w => w.Result)) AssertSame(serial[row], prediction, $"row {row}");
        Assert.IsFalse(fake.Disposed, "100 engines disposed, but the transformer still holds the model");

        transformer.Dispose();

        Assert.IsTrue(fake.Disposed, "disposing the transformer, the last holder, frees the model");
        Assert.AreEqual(nameof(FewShotAnomalyTransformer),
            Assert.ThrowsExactly<ObjectDisposedException>(() => transformer.Transform(data)).ObjectName);
        Assert.ThrowsExactly<ObjectDisposedException>(() => ml.Model.CreatePredictionEngine<ImagePathInput, AnomalyPrediction>(transformer),
            "no new engine on a freed model");
    }

    [TestMethod]
    public void DisposingAChainThatNoEngineDisposedFreesTheModel()
    {
        var ml = new MLContext(seed: 1);
        var rows = Rows;
        var data = TestData.View(ml, rows);
        var model = FitChain(ml, data, FakeOptions(new FakeCalls()));
        var transformer = model.LastTransformer;
        var fake = (FakeAnomalyModel)transformer.Model;
        Assert.HasCount(rows.Length, Scores(model.Transform(data)));

        model.Dispose();

        Assert.IsTrue(fake.Disposed);
        var images = ml.Transforms.LoadImages("Image", "", nameof(ImageRow.ImagePath)).Fit(data).Transform(data);
        Assert.AreEqual(nameof(FewShotAnomalyTransformer),
            Assert.ThrowsExactly<ObjectDisposedException>(() => transformer.Transform(images)).ObjectName);
        Assert.ThrowsExactly<ObjectDisposedException>(() => model.Transform(data));
    }

    [TestMethod]
    public void AnEngineOutlivesTheTransformerAndTheLastOneToGoFreesTheModel()
    {
        var ml = new MLContext(seed: 1);
        var rows = Rows;
        var data = TestData.View(ml, rows);
        var transformer = ml.Transforms.FewShotAnomaly(FakeOptions(new FakeCalls(), nameof(ImageRow.ImagePath))).Fit(data);
        var fake = (FakeAnomalyModel)transformer.Model;
        var input = new ImagePathInput { ImagePath = rows[3].ImagePath };
        var engine = ml.Model.CreatePredictionEngine<ImagePathInput, AnomalyPrediction>(transformer);
        var before = engine.Predict(input);

        transformer.Dispose();

        Assert.IsFalse(fake.Disposed, "the engine still holds the model");
        AssertSame(before, engine.Predict(input), "the engine keeps scoring");

        engine.Dispose();

        Assert.IsTrue(fake.Disposed, "the last holder let go");
        Assert.ThrowsExactly<ObjectDisposedException>(() => transformer.Transform(data));
    }

    [TestMethod]
    public void AViewMadeBeforeTheLastHolderLetGoThrowsObjectDisposedWhenRead()
    {
        var ml = new MLContext(seed: 1);
        var rows = Rows;
        var data = TestData.View(ml, rows);
        var transformer = ml.Transforms.FewShotAnomaly(FakeOptions(new FakeCalls(), nameof(ImageRow.ImagePath))).Fit(data);
        var scored = transformer.Transform(data);

        transformer.Dispose();

        Assert.ThrowsExactly<ObjectDisposedException>(() => Scores(scored));
    }

    [TestMethod]
    public void DisposingOneEngineOfAChainLeavesAnotherScoringOnTheRealModel()
    {
        var ml = new MLContext(seed: 1);
        var rows = Rows;
        var data = TestData.View(ml, rows);
        var encoders = new List<GatedEncoder>();
        var model = FitChain(ml, data, TinyOptions(encoders));
        var input = new ImagePathInput { ImagePath = rows[4].ImagePath };
        var a = ml.Model.CreatePredictionEngine<ImagePathInput, AnomalyPrediction>(model);
        var b = ml.Model.CreatePredictionEngine<ImagePathInput, AnomalyPrediction>(model);
        var expected = a.Predict(input);
        Assert.IsTrue(float.IsFinite(expected.Score));

        a.Dispose();

        AssertSame(expected, b.Predict(input), "B after A's disposal (was 'Tensor invalid -- empty handle')");
        Assert.AreEqual(expected.Score, Scores(model.Transform(data))[4], "and the chain still transforms");
        b.Dispose();
        AssertSame(expected, PredictOnce(ml, model, input.ImagePath), "a new engine after both were disposed");
        Assert.IsFalse(encoders.Single().Disposed, "nothing freed the model under a holder");
        model.Dispose();
    }

    [TestMethod]
    public void DisposingOneEngineOfTheTransformerLeavesAnotherScoringAndTheLastHolderFreesTheRealModel()
    {
        var ml = new MLContext(seed: 1);
        var rows = Rows;
        var data = TestData.View(ml, rows);
        var encoders = new List<GatedEncoder>();
        var transformer = ml.Transforms.FewShotAnomaly(TinyOptions(encoders, nameof(ImageRow.ImagePath))).Fit(data);
        var input = new ImagePathInput { ImagePath = rows[4].ImagePath };
        var a = ml.Model.CreatePredictionEngine<ImagePathInput, AnomalyPrediction>(transformer);
        var b = ml.Model.CreatePredictionEngine<ImagePathInput, AnomalyPrediction>(transformer);
        var expected = a.Predict(input);

        a.Dispose();

        AssertSame(expected, b.Predict(input), "B after A's disposal");
        b.Dispose();
        Assert.AreEqual(expected.Score, Scores(transformer.Transform(data))[4], "the transformer still scores");
        var encoder = encoders.Single();
        Assert.IsFalse(encoder.Disposed);

        transformer.Dispose();

        Assert.IsTrue(encoder.Disposed, "the last holder freed the model and its encoder");
        Assert.ThrowsExactly<ObjectDisposedException>(() => transformer.Transform(data));
        Assert.ThrowsExactly<ObjectDisposedException>(() => transformer.Model.Score([]), "the model itself is disposed too");
    }

    [TestMethod]
    public void EnginesCreatedAndDisposedOnFourThreadsOverTheRealModelAgree()
    {
        var ml = new MLContext(seed: 1);
        var rows = Rows;
        var data = TestData.View(ml, rows);
        var encoders = new List<GatedEncoder>();
        var model = FitChain(ml, data, TinyOptions(encoders));
        var expected = Scores(model.Transform(data));

        using var start = new Barrier(4);
        var workers = Enumerable.Range(0, 4).Select(t => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            return Enumerable.Range(0, 10).Select(i =>
            {
                var row = (t + i) % rows.Length;
                return (Row: row, PredictOnce(ml, model, rows[row].ImagePath).Score);
            }).ToList();
        }, TaskCreationOptions.LongRunning)).ToArray();
        Task.WaitAll(workers);

        foreach (var (row, score) in workers.SelectMany(w => w.Result)) Assert.AreEqual(expected[row], score, 1e-5f, $"row {row}");
        Assert.IsFalse(encoders.Single().Disposed);
        CollectionAssert.AreEqual(expected, Scores(model.Transform(data)));
        model.Dispose();
    }

    /// <summary>Fits a real PatchCore <see cref="FewShotAnomalyClassifier"/> on a <see cref="TinyEncoder"/> it owns.</summary>
    private sealed class TinyResolver(List<GatedEncoder> encoders) : IBackboneResolver
    {
        public IClassifierFactory CreateFactory(FewShotAnomalyOptions options) => new Trainer(encoders);

        private sealed class Trainer(List<GatedEncoder> encoders) : IClassifierFactory
        {
            public IAnomalyClassifier Fit(IReadOnlyList<Image<Rgb24>> normals, IChannel channel, CancellationToken cancellationToken)
            {
                var encoder = new GatedEncoder(new TinyEncoder());
                lock (encoders) encoders.Add(encoder);
                return FewShotAnomalyClassifier.Fit(encoder, new BackboneReference("tiny"), normals, new AnomalyMethodOptions
                {
                    Method = AnomalyMethod.PatchCore,
                    PatchCore = new PatchCoreOptions { CalibrationAnomaliesPerNormal = 1 },
                    Seed = 3,
                }, cancellationToken: cancellationToken);
            }

            public IAnomalyClassifier Load(Stream stream) => throw new NotSupportedException();
        }
    }
}
