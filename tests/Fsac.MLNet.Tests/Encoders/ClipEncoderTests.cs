using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Tests.Encoders.Clip;
using System.Text.Json;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.Encoders;

/// <summary>The whole CLIP path (files → preprocessing → towers) against OpenCLIP's outputs.</summary>
[TestClass]
public class ClipEncoderTests
{
    /// <summary>A model folder as a user has it: config, weights and vocabulary side by side.</summary>
    private static string ModelFolder(string model, string weightsFile)
    {
        var dir = Directory.CreateTempSubdirectory("fsac-clip").FullName;
        var src = SharedData.Path("clip-reference", model);
        File.Copy(Path.Combine(src, "open_clip_config.json"), Path.Combine(dir, "open_clip_config.json"));
        File.Copy(Path.Combine(src, weightsFile), Path.Combine(dir, weightsFile));
        File.Copy(SharedData.Path("clip-reference", "vocab", ClipTokenizer.BpeGzFileName), Path.Combine(dir, ClipTokenizer.BpeGzFileName));
        return dir;
    }

    [TestMethod]
    [DataRow("tiny-vit", "open_clip_model.safetensors")]
    [DataRow("tiny-vit-quickgelu", "open_clip_pytorch_model.bin")]
    public void FolderGivesOpenClipFeaturesForFilesAndTexts(string model, string weightsFile)
    {
        var dir = ModelFolder(model, weightsFile);
        try
        {
            using var encoder = ClipEncoder.Load(dir);
            var expected = ClipModelTests.Expected(model);
            var json = JsonDocument.Parse(File.ReadAllText(SharedData.Path("clip-reference", model, "expected.json"))).RootElement;

            var files = json.GetProperty("image_files").EnumerateArray()
                .Select(f => ImageLoader.Default.Load(SharedData.Path("clip-reference", "images", f.GetString()!))).ToList();
            using var _ = no_grad();
            using var pixels = encoder.Preprocess(files);
            using var imageFeatures = encoder.EncodeImage(pixels);
            var cos = nn.functional.cosine_similarity(imageFeatures, expected["image_features_files"]).min().item<float>();
            Assert.IsGreaterThanOrEqualTo(0.999f, cos, $"image cosine {cos}");

            var texts = json.GetProperty("texts").EnumerateArray().Select(t => t.GetString()!).ToList();
            using var textFeatures = encoder.EncodeText(texts);
            var rel = ClipModelTests.RelativeError(textFeatures, expected["text_features_texts"]);
            Assert.IsLessThanOrEqualTo(1e-5, rel, $"text relative error {rel:E2}");

            Assert.AreEqual(64, encoder.FeatureDim);
            StringAssert.StartsWith(encoder.Name, $"clip:{Path.GetFileName(dir)}:");
            foreach (var f in files) f.Dispose();
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestMethod]
    public void NameUsesTheDownloadersHashRecordWhenThereIsOne()
    {
        var dir = ModelFolder("tiny-vit", "open_clip_model.safetensors");
        try
        {
            var weights = Path.Combine(dir, "open_clip_model.safetensors");
            string computed;
            using (var encoder = ClipEncoder.Load(dir)) computed = encoder.Name;
            var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(weights)));
            StringAssert.EndsWith(computed, ":" + sha[..12]);

            // A record written after verification is trusted (the weights are not read a second time to hash them).
            var recorded = new string('a', 64);
            File.WriteAllText(weights + ".sha256", $"{recorded}  open_clip_model.safetensors\n");
            using (var encoder = ClipEncoder.Load(dir)) StringAssert.EndsWith(encoder.Name, ":" + recorded[..12]);
        }
        finally { Directory.Delete(dir, true); }
    }

    [TestMethod]
    public void MissingPiecesAreNamed()
    {
        var dir = ModelFolder("tiny-vit", "open_clip_model.safetensors");
        try
        {
            Assert.ThrowsExactly<DirectoryNotFoundException>(() => ClipEncoder.Load(Path.Combine(dir, "nope")));
            Environment.SetEnvironmentVariable("FSAC_CACHE", Path.Combine(dir, "empty-cache"));
            File.Delete(Path.Combine(dir, ClipTokenizer.BpeGzFileName));
            var vocab = Assert.ThrowsExactly<FileNotFoundException>(() => ClipEncoder.Load(dir));
            StringAssert.Contains(vocab.Message, ClipTokenizer.BpeGzFileName);
            File.Delete(Path.Combine(dir, "open_clip_config.json"));
            var config = Assert.ThrowsExactly<FileNotFoundException>(() => ClipEncoder.Load(dir));
            StringAssert.Contains(config.Message, "open_clip_config.json");
        }
        finally
        {
            Environment.SetEnvironmentVariable("FSAC_CACHE", null);
            Directory.Delete(dir, true);
        }
    }

    [TestMethod]
    public void WeightsOfTheWrongArchitectureAreRejected()
    {
        var weights = SharedData.Path("clip-reference", "tiny-vit", "open_clip_model.safetensors");
        var ex = Assert.ThrowsExactly<CheckpointMismatchException>(() =>
            ClipEncoder.Load(weights, "ViT-B-32", vocabularyPath: SharedData.Path("clip-reference", "vocab", ClipTokenizer.BpeGzFileName)));
        Assert.IsNotEmpty(ex.WrongShapes);
    }
}
