using Fsac.MLNet;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Fsac.MLNet.Tests.MLNet;

[TestClass]
public class InputValidationTests
{
    private static FewShotAnomalyOptions Options(FakeCalls calls, string imageColumn = nameof(ImageRow.ImagePath)) => new()
    {
        ImageColumnName = imageColumn,
        Backbone = FakeBackboneResolver.Name,
        BackboneResolver = new FakeBackboneResolver(calls),
        Seed = 1,
    };

    private sealed class FloatImageRow
    {
        public float Image { get; set; }
        public bool Label { get; set; }
    }

    private sealed class FloatLabelRow
    {
        public string ImagePath { get; set; } = "";
        public float Label { get; set; }
    }

    [TestMethod]
    public void AMissingImageColumnIsNamed()
    {
        var ml = new MLContext(1);
        var calls = new FakeCalls();
        var data = TestData.View(ml, TestData.Cookies(1, 0));

        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.FewShotAnomaly(Options(calls, "Picture")).Fit(data));

        StringAssert.Contains(error.Message, "Could not find input column 'Picture'");
        Assert.AreEqual(0, calls.Resolves, "nothing is resolved or fitted for a bad schema");
    }

    [TestMethod]
    public void AFloatImageColumnIsASchemaMismatch()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(new[] { new FloatImageRow { Image = 1 } });

        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.FewShotAnomaly(Options(new FakeCalls(), "Image")).Fit(data));

        StringAssert.Contains(error.Message, "Schema mismatch for input column 'Image': expected String (file path), MLImage or Vector<Byte> (encoded image), got Single");
    }

    [TestMethod]
    public void ANonBooleanLabelIsASchemaMismatch()
    {
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(new[] { new FloatLabelRow { ImagePath = TestData.Cookies(1, 0)[0].ImagePath } });

        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.FewShotAnomaly(Options(new FakeCalls())).Fit(data));

        StringAssert.Contains(error.Message, "Schema mismatch for input column 'Label': expected Boolean, got Single");
    }

    [TestMethod]
    public void ZeroNormalRowsIsAnErrorNamingTheLabelColumn()
    {
        var ml = new MLContext(1);
        var calls = new FakeCalls();
        var data = TestData.View(ml, TestData.Cookies(normals: 0, anomalies: 2));

        var error = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Transforms.FewShotAnomaly(Options(calls)).Fit(data));

        StringAssert.Contains(error.Message, "none of the 2 rows is normal (label column 'Label'");
        Assert.AreEqual(0, calls.Fits);
    }

    [TestMethod]
    public void ACorruptImageFileIsNamedWithItsRow()
    {
        var folder = TestData.TempFolder();
        try
        {
            var broken = Path.Combine(folder, "broken.png");
            File.WriteAllBytes(broken, [0x89, 0x50, 0x4E, 0x47, 1, 2, 3, 4, 5]);
            var rows = TestData.Cookies(normals: 2, anomalies: 0).Append(new ImageRow { ImagePath = broken }).ToArray();
            var ml = new MLContext(1);
            var options = Options(new FakeCalls());
            options.Shots = 3;

            var error = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Transforms.FewShotAnomaly(options).Fit(TestData.View(ml, rows)));

            StringAssert.Contains(error.Message, "row 2");
            StringAssert.Contains(error.Message, broken);
            Assert.IsInstanceOfType<SixLabors.ImageSharp.ImageFormatException>(error.InnerException);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void ACorruptImageWhileTransformingIsNamedWithItsRow()
    {
        var folder = TestData.TempFolder();
        try
        {
            var broken = Path.Combine(folder, "truncated.jpg");
            File.WriteAllBytes(broken, File.ReadAllBytes(TestData.Cookies(1, 0)[0].ImagePath).AsSpan(0, 200).ToArray());
            var ml = new MLContext(1);
            var transformer = ml.Transforms.FewShotAnomaly(Options(new FakeCalls())).Fit(TestData.View(ml, TestData.Cookies(2, 0)));
            var scored = transformer.Transform(TestData.View(ml, [.. TestData.Cookies(1, 0), new ImageRow { ImagePath = broken }]));

            var error = Assert.ThrowsExactly<InvalidOperationException>(() => scored.GetColumn<float>("Score").ToArray());

            StringAssert.Contains(error.Message, "row 1");
            StringAssert.Contains(error.Message, broken);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void EstimatorOutputSchemaIsCheckedFromTheShapeAlone()
    {
        var ml = new MLContext(1);
        var calls = new FakeCalls();
        var pipeline = ml.Transforms.LoadImages("Image", "", nameof(ImageRow.ImagePath))
            .Append(ml.Transforms.FewShotAnomaly(imageColumnName: "Image", scoreColumnName: "S", predictedLabelColumnName: "P",
                probabilityColumnName: "Q", className: "cookie", shots: 2))
            .Append(ml.Transforms.CopyColumns("Copy", "S"));
        var shape = TestData.ShapeOf(TestData.View(ml, TestData.Cookies(1, 0)).Schema);

        var output = pipeline.GetOutputSchema(shape);

        Assert.AreEqual(NumberDataViewType.Single, output.Single(c => c.Name == "S").ItemType);
        Assert.AreEqual(BooleanDataViewType.Instance, output.Single(c => c.Name == "P").ItemType);
        Assert.AreEqual(NumberDataViewType.Single, output.Single(c => c.Name == "Copy").ItemType);
        Assert.AreEqual(SchemaShape.Column.VectorKind.Scalar, output.Single(c => c.Name == "Q").Kind);

        var bad = ml.Transforms.FewShotAnomaly(Options(calls, "Image"));
        var error = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => bad.GetOutputSchema(shape));
        StringAssert.Contains(error.Message, "Could not find input column 'Image'");
        Assert.AreEqual(0, calls.Resolves);
    }

    [TestMethod]
    [DataRow(null, 0, 0, "Score", DisplayName = "no map")]
    [DataRow("AnomalyMap", 0, 0, "Score", DisplayName = "a map at each image's size")]
    [DataRow("AnomalyMap", 8, 6, "Score", DisplayName = "a map of a fixed size")]
    [DataRow("Map", 4, 4, "Label", DisplayName = "a score column that hides the label")]
    public void TheEstimatorsShapeIsTheShapeOfTheTransformersSchema(string? map, int width, int height, string score)
    {
        var ml = new MLContext(1);
        var data = TestData.View(ml, TestData.Cookies(2, 0));
        var options = Options(new FakeCalls());
        (options.Shots, options.ScoreColumnName, options.AnomalyMapColumnName) = (2, score, map);
        (options.AnomalyMapWidth, options.AnomalyMapHeight) = (width, height);
        var estimator = ml.Transforms.FewShotAnomaly(options);

        var shape = estimator.GetOutputSchema(TestData.ShapeOf(data.Schema));
        using var transformer = estimator.Fit(data);
        var expected = TestData.ShapeOf(transformer.GetOutputSchema(data.Schema));

        static string Describe(SchemaShape shape) => string.Join("; ", shape.Select(c =>
            $"{c.Name} {c.Kind} {c.ItemType} key={c.IsKey} annotations=[{string.Join(",", c.Annotations.Select(a => a.Name))}]"));
        Assert.AreEqual(Describe(expected), Describe(shape), "names, vector kinds, item types, keys and annotations, in order");
        CollectionAssert.AreEqual(expected.Select(c => c.ItemType).ToArray(), shape.Select(c => c.ItemType).ToArray());
    }

    [TestMethod]
    public void TransformerOutputSchemaOnABadSchemaThrowsWithoutCallingTheModel()
    {
        var ml = new MLContext(1);
        var calls = new FakeCalls();
        var transformer = ml.Transforms.FewShotAnomaly(Options(calls)).Fit(TestData.View(ml, TestData.Cookies(2, 0)));
        var scoreCalls = calls.ScoreCalls;
        var floatSchema = ml.Data.LoadFromEnumerable(new[] { new FloatImageRow() }).Schema;

        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => transformer.GetOutputSchema(floatSchema));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => transformer.Transform(ml.Data.LoadFromEnumerable(new[] { new FloatImageRow() })));
        var good = transformer.GetOutputSchema(TestData.View(ml, TestData.Cookies(1, 0)).Schema);

        Assert.AreEqual(scoreCalls, calls.ScoreCalls);
        Assert.AreEqual(BooleanDataViewType.Instance, good["PredictedLabel"].Type);
    }

    [TestMethod]
    public void ImpossibleOptionsAreRejectedWhenTheEstimatorIsCreated()
    {
        var ml = new MLContext(1);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.FewShotAnomaly(shots: 0));
        Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.FewShotAnomaly(scoreColumnName: "X", probabilityColumnName: "X"));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.FewShotAnomaly(new FewShotAnomalyOptions { AnomalyMapWidth = 8 }));
    }

    [TestMethod]
    public void CancellationStopsFitting()
    {
        var ml = new MLContext(1);
        var calls = new FakeCalls();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsExactly<OperationCanceledException>(() =>
            ml.Transforms.FewShotAnomaly(Options(calls)).Fit(TestData.View(ml, TestData.Cookies(2, 0)), cancelled.Token));
        Assert.AreEqual(0, calls.Fits);
    }
}
