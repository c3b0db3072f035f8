using Fsac.MLNet;
using Microsoft.ML;

namespace Fsac.MLNet.Tests.MLNet;

[TestClass]
public class ConcurrencyTests
{
    [TestMethod]
    public void TransformAndCursorsFromEightThreadsMatchSerial()
    {
        var ml = new MLContext(seed: 1);
        var calls = new FakeCalls();
        var rows = TestData.Cookies(normals: 5, anomalies: 4);
        var data = TestData.View(ml, rows);
        var model = ml.Transforms.LoadImages("Image", "", nameof(ImageRow.ImagePath))
            .Append(ml.Transforms.FewShotAnomaly(new FewShotAnomalyOptions
            {
                Backbone = FakeBackboneResolver.Name,
                BackboneResolver = new FakeBackboneResolver(calls),
                Seed = 2,
                BatchSize = 4, // 9 rows: batches of 4, 4 and 1
            }))
            .Fit(data);
        var serial = Read(model.Transform(data));

        using var start = new Barrier(8);
        var results = Enumerable.Range(0, 8)
            .Select(_ => Task.Factory.StartNew(() =>
            {
                start.SignalAndWait();
                return Read(model.Transform(data));
            }, TaskCreationOptions.LongRunning))
            .ToArray();
        Task.WaitAll(results);

        foreach (var result in results)
        {
            CollectionAssert.AreEqual(serial.Scores, result.Result.Scores);
            CollectionAssert.AreEqual(serial.Paths, result.Result.Paths, "pass-through columns stay aligned with the scores");
        }
        CollectionAssert.AreEqual(rows.Select(r => r.ImagePath).ToArray(), serial.Paths, "rows keep the input order");
    }

    [TestMethod]
    public void AnInputThatReordersRowsBetweenCursorsFailsInsteadOfMisaligning()
    {
        var ml = new MLContext(seed: 1);
        var rows = TestData.Cookies(normals: 3, anomalies: 0);
        var transformer = ml.Transforms.FewShotAnomaly(new FewShotAnomalyOptions
        {
            ImageColumnName = nameof(ImageRow.ImagePath),
            LabelColumnName = null,
            Backbone = FakeBackboneResolver.Name,
            BackboneResolver = new FakeBackboneResolver(new FakeCalls()),
        }).Fit(TestData.View(ml, rows));
        var scored = transformer.Transform(new UnstableOrderDataView(rows.Select(r => r.ImagePath).ToList()));

        var error = Assert.ThrowsExactly<InvalidOperationException>(() => Read(scored));

        StringAssert.Contains(error.Message, "different orders");
    }

    private static (float[] Scores, string[] Paths) Read(IDataView scored)
    {
        var scores = new List<float>();
        var paths = new List<string>();
        using var cursor = scored.GetRowCursor([scored.Schema["Score"], scored.Schema[nameof(ImageRow.ImagePath)]]);
        var score = cursor.GetGetter<float>(scored.Schema["Score"]);
        var path = cursor.GetGetter<ReadOnlyMemory<char>>(scored.Schema[nameof(ImageRow.ImagePath)]);
        float s = 0;
        ReadOnlyMemory<char> p = default;
        while (cursor.MoveNext())
        {
            score(ref s);
            path(ref p);
            scores.Add(s);
            paths.Add(p.ToString());
        }
        return (scores.ToArray(), paths.ToArray());
    }
}
