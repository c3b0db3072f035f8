using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Head;
using Fsac.MLNet.Tests.TestDoubles;
using Fsac.MLNet.Tests.Checkpoints;
using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Fsac.MLNet.Tests.Encoders;

[TestClass]
public class BackboneReferenceTests
{
    private static readonly FsacOptions Options = FsacPreset.MVTec with
    {
        EpochsPerStage = 2,
        AnomaliesPerNormal = 2,
        CalibrationAnomaliesPerNormal = 2,
        Seed = 1,
    };

    [TestMethod]
    public void AFolderSpecificationIsKeptAsItsFullPath()
    {
        using var dir = new TempDir();
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, dir.Path);
        Assert.AreEqual(dir.Path, new BackboneReference(relative).Spec);
        Assert.AreEqual("resnet18", new BackboneReference("resnet18").Spec);
        Assert.AreEqual("ViT-B-16:openai", new BackboneReference("ViT-B-16:openai", EncoderPrecision.BFloat16).Spec);
    }

    [TestMethod]
    public void TheReferenceTravelsWithTheSavedModel()
    {
        var reference = new BackboneReference("resnet18", EncoderPrecision.BFloat16) { Engine = EncoderEngine.TorchSharp };
        using (var borrowed = FsacClassifier.Fit(new TinyEncoder(), SyntheticImages.Normals(2, seed: 3), Options, new SquareSynthesizer()))
            Assert.IsNull(borrowed.Backbone, "a model on a borrowed encoder records no reference");
        using var model = FsacClassifier.Fit(new TinyEncoder(), reference, SyntheticImages.Normals(2, seed: 3), Options, new SquareSynthesizer(), null, default);
        Assert.AreEqual(reference, model.Backbone);

        using var saved = new MemoryStream();
        model.Save(saved);
        saved.Position = 0;
        using var encoder = new TinyEncoder();
        using var loaded = FsacClassifier.Load(saved, encoder);
        Assert.AreEqual(reference, loaded.Backbone, "loading on a borrowed encoder keeps the recorded reference");
    }

    [TestMethod]
    public void AModelSavedBeforeTheEngineWasRecordedLoadsOnAuto()
    {
        using var model = FsacClassifier.Fit(new TinyEncoder(), new BackboneReference("resnet18") { Engine = EncoderEngine.OnnxRuntime },
            SyntheticImages.Normals(2, seed: 3), Options, new SquareSynthesizer(), null, default);
        using var saved = new MemoryStream();
        model.Save(saved);
        // The manifest as the previous release wrote it: the backbone without "engine".
        using (var zip = new ZipArchive(saved, ZipArchiveMode.Update, leaveOpen: true))
        {
            var entry = zip.GetEntry(ModelArchive.ManifestEntry)!;
            JsonNode manifest;
            using (var read = entry.Open()) manifest = JsonNode.Parse(read)!;
            Assert.AreEqual("OnnxRuntime", (string?)manifest["backbone"]!["engine"]);
            manifest["backbone"]!.AsObject().Remove("engine");
            entry.Delete();
            using var write = zip.CreateEntry(ModelArchive.ManifestEntry).Open();
            JsonSerializer.Serialize(write, manifest);
        }
        saved.Position = 0;
        Assert.AreEqual(new BackboneReference("resnet18", EncoderPrecision.Float32), ModelLoader.RecordedBackbone(saved, "old model"));
        saved.Position = 0;
        using var encoder = new TinyEncoder();
        using var loaded = FsacClassifier.Load(saved, encoder);
        Assert.AreEqual(EncoderEngine.Auto, loaded.Backbone!.Engine);
    }

    [TestMethod]
    public void LoadingWithoutAnEncoderNeedsARecordedBackbone()
    {
        using var encoder = new TinyEncoder();
        using var model = FsacClassifier.Fit(encoder, SyntheticImages.Normals(2, seed: 3), Options, new SquareSynthesizer());
        using var saved = new MemoryStream();
        model.Save(saved);
        saved.Position = 0;

        var e = Assert.ThrowsExactly<InvalidOperationException>(() => FewShotAnomalyClassifier.Load(saved));
        StringAssert.Contains(e.Message, "does not record the backbone it was fitted on (encoder 'tiny-test-encoder')");
    }
}
