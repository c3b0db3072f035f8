using Fsac.MLNet.Fitting;
using Fsac.MLNet.Head;
using Fsac.MLNet.Tests.TestDoubles;
using TorchSharp;

namespace Fsac.MLNet.Tests.Fitting;

[TestClass]
public class HeadTrainerTests
{
    private static readonly FsacOptions Options = new() { EpochsPerStage = 8, Seed = 3 };

    [TestMethod]
    public void StageTwoChangesOnlyTheTextAdapter()
    {
        using var cache = TrainerFixtures.Cache(shots: 2, poolSize: 4, dim: 16, seed: 1);
        using var head = new FsacHead(16, Options);
        var trainer = new HeadTrainer(Options);
        var random = new Random(0);
        trainer.TrainStage(head, cache, TrainingStage.ImageSide, random);
        var before = TrainerFixtures.Snapshot(head);

        trainer.TrainStage(head, cache, TrainingStage.TextSide, random);

        var after = TrainerFixtures.Snapshot(head);
        foreach (var (name, bytes) in before)
        {
            if (name.StartsWith("text_adapter.", StringComparison.Ordinal))
                CollectionAssert.AreNotEqual(bytes, after[name], $"{name} must be trained in stage 2");
            else
                CollectionAssert.AreEqual(bytes, after[name], $"{name} must be bit-identical after stage 2");
        }
    }

    [TestMethod]
    public void StageOneChangesOnlyTheImageAdapterAndCrossAttention()
    {
        using var cache = TrainerFixtures.Cache(shots: 2, poolSize: 4, dim: 16, seed: 1);
        using var head = new FsacHead(16, Options);
        var before = TrainerFixtures.Snapshot(head);

        new HeadTrainer(Options).TrainStage(head, cache, TrainingStage.ImageSide, new Random(0));

        var after = TrainerFixtures.Snapshot(head);
        foreach (var (name, bytes) in before)
        {
            if (name.StartsWith("text_adapter.", StringComparison.Ordinal))
                CollectionAssert.AreEqual(bytes, after[name], name);
            else
                CollectionAssert.AreNotEqual(bytes, after[name], name);
        }
    }

    [TestMethod]
    public void JointTrainingChangesBothSides()
    {
        using var cache = TrainerFixtures.Cache(shots: 2, poolSize: 4, dim: 16, seed: 1);
        using var head = new FsacHead(16, Options);
        var before = TrainerFixtures.Snapshot(head);

        new HeadTrainer(Options).TrainStage(head, cache, TrainingStage.Joint, new Random(0));

        var after = TrainerFixtures.Snapshot(head);
        foreach (var (name, bytes) in before)
            CollectionAssert.AreNotEqual(bytes, after[name], name);
    }

    [TestMethod]
    [DataRow(FsacTrainingMode.TwoStage, new[] { TrainingStage.ImageSide, TrainingStage.TextSide })]
    [DataRow(FsacTrainingMode.OneStage, new[] { TrainingStage.ImageSide })]
    [DataRow(FsacTrainingMode.Joint, new[] { TrainingStage.Joint })]
    public void EachModeRunsItsStages(FsacTrainingMode mode, TrainingStage[] stages)
    {
        var options = Options with { TrainingMode = mode };
        using var cache = TrainerFixtures.Cache(shots: 1, poolSize: 2, dim: 8, seed: 2);
        using var head = new FsacHead(8, options);

        var history = new HeadTrainer(options).Train(head, cache, new Random(0));

        CollectionAssert.AreEqual(stages, history.Stages.Select(s => s.Stage).ToArray());
        Assert.IsTrue(history.Stages.All(s => s.Losses.Count == options.EpochsPerStage));
    }

    [TestMethod]
    public void TheLossFallsDuringTraining()
    {
        var options = new FsacOptions { Seed = 4 };
        using var cache = TrainerFixtures.Cache(shots: 4, poolSize: 8, dim: 32, seed: 3);
        using var head = new FsacHead(32, options);

        var history = new HeadTrainer(options).Train(head, cache, new Random(1));

        var stage1 = history.Stages[0].Losses;
        var stage2 = history.Stages[1].Losses;
        Assert.HasCount(100, stage1);
        Assert.IsLessThan(0.75 * stage1[0], stage1.TakeLast(10).Average(), "stage 1 must reduce the loss");
        Assert.IsLessThan(stage2.Take(10).Average(), stage2.TakeLast(10).Average(), "stage 2 must reduce it further");
    }

    [TestMethod]
    public void TrainsWithoutCrossAttention()
    {
        var options = Options with { UseCrossAttention = false, EpochsPerStage = 40 };
        using var cache = TrainerFixtures.Cache(shots: 2, poolSize: 4, dim: 16, seed: 5);
        using var head = new FsacHead(16, options);

        var losses = new HeadTrainer(options).Train(head, cache, new Random(0)).Stages[0].Losses;

        Assert.IsFalse(head.HasCrossAttention);
        Assert.IsLessThan(losses[0], losses[^1]);
    }

    [TestMethod]
    [DataRow(TrainingStage.ImageSide, true)]
    [DataRow(TrainingStage.TextSide, true)]
    [DataRow(TrainingStage.Joint, true)]
    [DataRow(TrainingStage.TextSide, false)]
    public void EachStageTrainsAsTheLossOfEachHalfAndEpochWouldBeComputedAlone(TrainingStage stage, bool crossAttention)
    {
        // The trainer batches the shots with their anomalies and computes the frozen side once per stage; the
        // reference computes everything per epoch, the shots and the anomalies apart, as the paper's steps read.
        var options = Options with { UseCrossAttention = crossAttention };
        using var cache = TrainerFixtures.Cache(shots: 3, poolSize: 4, dim: 16, seed: 2);
        using var trained = new FsacHead(16, options);
        using var reference = new FsacHead(16, options);
        new HeadTrainer(options).TrainStage(trained, cache, TrainingStage.ImageSide, new Random(4));
        new HeadTrainer(options).TrainStage(reference, cache, TrainingStage.ImageSide, new Random(4));

        var losses = new HeadTrainer(options).TrainStage(trained, cache, stage, new Random(5));
        var expected = ReferenceStage(reference, cache, stage, options, new Random(5));

        for (int e = 0; e < losses.Length; e++) Assert.AreEqual(expected[e], losses[e], 1e-5f, $"epoch {e + 1}");
        foreach (var (name, p) in reference.named_parameters())
        {
            var ours = trained.named_parameters().Single(n => n.name == name).parameter;
            Assert.IsTrue(ours.allclose(p, rtol: 1e-4, atol: 1e-6), $"{name}: largest difference {ours.sub(p).abs().max().item<float>()}");
        }
    }

    private static float[] ReferenceStage(FsacHead head, FeatureCache cache, TrainingStage stage, FsacOptions options, Random sampler)
    {
        var trainable = stage switch
        {
            TrainingStage.ImageSide => head.ImageSideParameters,
            TrainingStage.TextSide => head.TextSideParameters,
            _ => [.. head.ImageSideParameters, .. head.TextSideParameters],
        };
        foreach (var p in head.parameters()) p.requires_grad = trainable.Any(t => t.Handle == p.Handle);
        var rate = stage == TrainingStage.TextSide ? options.TextLearningRate : options.ImageLearningRate;
        using var image = stage == TrainingStage.Joint ? new AdamOptimizer(head.ImageSideParameters, options.ImageLearningRate) : null;
        using var text = stage == TrainingStage.Joint ? new AdamOptimizer(head.TextSideParameters, options.TextLearningRate) : null;
        using var single = stage == TrainingStage.Joint ? null : new AdamOptimizer(trainable, rate);
        AdamOptimizer[] optimizers = single is null ? [image!, text!] : [single];
        var losses = new float[options.EpochsPerStage];
        for (int epoch = 0; epoch < losses.Length; epoch++)
        {
            using var scope = torch.NewDisposeScope();
            foreach (var o in optimizers) o.ZeroGrad();
            var anomalies = cache.AnomalyPool.reshape(-1, cache.FeatureDim).index_select(0, cache.SampleRows(sampler));
            var psi = head.AdaptText(cache.Anchors);
            var loss = FusionTextContrastiveLoss.Compute(head.Fuse(cache.Normals, psi), head.Fuse(anomalies, psi), psi, options.TrainingTemperature);
            loss.backward();
            foreach (var o in optimizers) o.Step();
            losses[epoch] = loss.item<float>();
        }
        foreach (var p in head.parameters()) p.requires_grad = false;
        return losses;
    }

    [TestMethod]
    public void SameSeedGivesBitIdenticalLossesAndWeights()
    {
        float[][] Run(out Dictionary<string, byte[]> weights)
        {
            using var cache = TrainerFixtures.Cache(shots: 3, poolSize: 4, dim: 16, seed: 6);
            using var head = new FsacHead(16, Options);
            var history = new HeadTrainer(Options).Train(head, cache, new Random(7));
            weights = TrainerFixtures.Snapshot(head);
            return [.. history.Stages.Select(s => s.Losses.ToArray())];
        }

        var first = Run(out var w1);
        var second = Run(out var w2);

        for (int s = 0; s < first.Length; s++) CollectionAssert.AreEqual(first[s], second[s]);
        foreach (var (name, bytes) in w1) CollectionAssert.AreEqual(bytes, w2[name], name);
    }

    [TestMethod]
    public void ReportsEveryEpochAndLeavesTheHeadFrozen()
    {
        using var cache = TrainerFixtures.Cache(shots: 2, poolSize: 2, dim: 8, seed: 1);
        using var head = new FsacHead(8, Options);
        var progress = new ListProgress<TrainingProgress>();

        var history = new HeadTrainer(Options).Train(head, cache, new Random(0), progress);

        Assert.HasCount(2 * Options.EpochsPerStage, progress.Reports);
        Assert.AreEqual(new TrainingProgress(TrainingStage.TextSide, Options.EpochsPerStage, Options.EpochsPerStage, history.Stages[1].Losses[^1]), progress.Reports[^1]);
        CollectionAssert.AreEqual(Enumerable.Range(1, Options.EpochsPerStage).ToArray(), progress.Reports.Take(Options.EpochsPerStage).Select(p => p.Epoch).ToArray());
        Assert.IsTrue(head.parameters().All(p => !p.requires_grad));
    }

    [TestMethod]
    public void HonoursCancellation()
    {
        using var cache = TrainerFixtures.Cache(shots: 2, poolSize: 2, dim: 8, seed: 1);
        using var head = new FsacHead(8, Options);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.ThrowsExactly<OperationCanceledException>(() => new HeadTrainer(Options).Train(head, cache, new Random(0), cancellationToken: cancelled.Token));
        Assert.IsTrue(head.parameters().All(p => !p.requires_grad));
    }

    [TestMethod]
    public void RejectsACacheOfAnotherWidth()
    {
        using var cache = TrainerFixtures.Cache(shots: 1, poolSize: 2, dim: 8, seed: 1);
        using var head = new FsacHead(16, Options);
        Assert.ThrowsExactly<ArgumentException>(() => new HeadTrainer(Options).Train(head, cache, new Random(0)));
    }
}
