using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.PatchCore;
using Fsac.MLNet.Tests.TestDoubles;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.Classifiers;

/// <summary>
/// The lifetime of a <see cref="FewShotAnomalyClassifier"/> (its internal LifetimeGuard): calls after Dispose throw
/// <see cref="ObjectDisposedException"/> naming the classifier, and Dispose waits for a call running on another thread
/// (held inside a <see cref="GatedEncoder"/>) instead of freeing the model under it.
/// </summary>
[TestClass]
public sealed class LifetimeGuardTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static readonly AnomalyMethodOptions Options = new()
    {
        Method = AnomalyMethod.PatchCore,
        PatchCore = new PatchCoreOptions { CalibrationAnomaliesPerNormal = 1 },
        Seed = 3,
        BatchSize = 8,
    };

    /// <summary>A PatchCore model that owns <paramref name="encoder"/> (so that disposing the model disposes it).</summary>
    private static FewShotAnomalyClassifier Fit(IImageEncoder encoder) =>
        FewShotAnomalyClassifier.Fit(encoder, new BackboneReference("tiny-test-encoder"), SyntheticImages.Normals(3, seed: 5), Options);

    private static List<Image<Rgb24>> Images(int count)
    {
        var rng = new Random(21);
        return Enumerable.Range(0, count).Select(i => i % 2 == 0 ? SyntheticImages.Normal(rng) : SyntheticImages.Defective(rng)).ToList();
    }

    private static void AssertDisposed(Action call, string what)
    {
        var error = Assert.ThrowsExactly<ObjectDisposedException>(call, what);
        Assert.AreEqual(nameof(FewShotAnomalyClassifier), error.ObjectName, what);
    }

    [TestMethod]
    public void EveryCallAfterDisposeThrowsObjectDisposedNamingTheClassifier()
    {
        var encoder = new GatedEncoder(new TinyEncoder());
        var model = Fit(encoder);
        var images = Images(2);
        Assert.HasCount(2, model.Score(images), "works before");

        model.Dispose();
        model.Dispose(); // twice is fine

        Assert.IsTrue(encoder.Disposed, "the model owned the encoder and released it");
        AssertDisposed(() => model.Score(images), "Score");
        AssertDisposed(() => model.ScoreWithMaps(images, withMaps: true), "ScoreWithMaps");
        AssertDisposed(() => model.ScoreWithMaps(images, withMaps: false), "ScoreWithMaps without maps");
        AssertDisposed(() => model.AnomalyMap(images[0]), "AnomalyMap");
        AssertDisposed(() => model.Saliency(images[0]), "Saliency");
        AssertDisposed(() => _ = model.Threshold, "Threshold");
        AssertDisposed(() => model.ToProbability(0.5f), "ToProbability");
        AssertDisposed(() => model.AddNormals(images), "AddNormals");
        AssertDisposed(() => model.Save(new MemoryStream()), "Save(Stream)");
        model.Dispose(); // and again after the failed calls
    }

    [TestMethod]
    public void SaveToAFileAfterDisposeThrowsAndLeavesNoFile()
    {
        var folder = Path.Combine(Path.GetTempPath(), "fsac-lifetime-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var model = Fit(new TinyEncoder());
            model.Dispose();
            var path = Path.Combine(folder, "model.fsac");

            AssertDisposed(() => model.Save(path), "Save(path)");

            Assert.IsEmpty(Directory.GetFileSystemEntries(folder), "no target and no temp file left behind");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [TestMethod]
    public void DisposeWaitsForAScoreRunningOnAnotherThreadThenReleases()
    {
        var encoder = new GatedEncoder(new TinyEncoder());
        var model = Fit(encoder);
        var images = Images(6);
        var expected = model.Score(images);

        encoder.Arm();
        var scoring = Task.Factory.StartNew(() => model.Score(images), TaskCreationOptions.LongRunning);
        Assert.IsTrue(encoder.Entered.Wait(Patience), "the score call reached the encoder");
        var disposing = Task.Factory.StartNew(model.Dispose, TaskCreationOptions.LongRunning);

        // Once Dispose has started, new calls are refused; it is then waiting for the score call in flight.
        Assert.IsTrue(SpinWait.SpinUntil(() => Refused(model), Patience), "Dispose started and blocks new calls");
        Assert.IsFalse(disposing.IsCompleted, "Dispose must not return while a score call is inside the encoder");
        Assert.IsFalse(encoder.Disposed, "nor free the encoder under it");
        Assert.IsFalse(scoring.IsCompleted, "the score call is still held by the encoder");

        encoder.Open();

        Assert.IsTrue(scoring.Wait(Patience), "the score call finishes");
        var scores = scoring.Result;
        Assert.HasCount(images.Count, scores);
        Assert.IsTrue(scores.All(float.IsFinite), string.Join(", ", scores));
        CollectionAssert.AreEqual(expected, scores, "the call in flight scored on the intact model");
        Assert.IsTrue(disposing.Wait(Patience), "Dispose returns once the call has ended");
        Assert.IsNull(disposing.Exception);
        Assert.IsTrue(encoder.Disposed, "and the model's encoder is released");
        AssertDisposed(() => model.Score(images), "Score after Dispose");
    }

    [TestMethod]
    public void DisposeWaitsForEveryCallInFlight()
    {
        var encoder = new GatedEncoder(new TinyEncoder());
        var model = Fit(encoder);
        var images = Images(3);
        var expected = model.ScoreWithMaps(images, withMaps: true);

        encoder.Arm();
        var calls = Enumerable.Range(0, 3)
            .Select(_ => Task.Factory.StartNew(() => model.ScoreWithMaps(images, withMaps: true), TaskCreationOptions.LongRunning))
            .ToArray();
        Assert.IsTrue(encoder.Entered.Wait(Patience));
        var disposing = Task.Factory.StartNew(model.Dispose, TaskCreationOptions.LongRunning);
        Assert.IsTrue(SpinWait.SpinUntil(() => Refused(model), Patience));
        // The other two calls either entered before Dispose (and then block in the encoder) or were refused.
        Assert.IsFalse(disposing.IsCompleted);

        encoder.Open();

        Assert.IsTrue(Task.WaitAll(calls.Select(c => c.ContinueWith(_ => { })).ToArray(), Patience));
        Assert.IsTrue(disposing.Wait(Patience));
        var finished = 0;
        foreach (var call in calls)
        {
            if (call.IsFaulted)
            {
                Assert.IsInstanceOfType<ObjectDisposedException>(call.Exception!.InnerException, "a call either completes or is refused");
                continue;
            }
            finished++;
            CollectionAssert.AreEqual(expected.Scores, call.Result.Scores);
            Assert.HasCount(images.Count, call.Result.Maps);
            for (var i = 0; i < images.Count; i++) CollectionAssert.AreEqual(expected.Maps[i], call.Result.Maps[i]);
        }
        Assert.IsGreaterThanOrEqualTo(1, finished, "the call inside the encoder completed");
        Assert.IsTrue(encoder.Disposed);
    }

    private static bool Refused(FewShotAnomalyClassifier model)
    {
        try
        {
            _ = model.Threshold;
            return false;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }
}
