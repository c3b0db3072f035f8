using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Tests.Checkpoints;
using System.Text.Json;
using Fsac.Cli;
using static TorchSharp.torch;

namespace Fsac.MLNet.Tests.Cli;

/// <summary><c>fsac embed</c> on the tiny CLIP: several images and texts, as the help says they can be given.</summary>
[TestClass]
public class EmbedCommandTests
{
    private static (Dictionary<string, TensorData> Tensors, string[] Images) Read(string path)
    {
        var tensors = SafeTensors.Read(path, out var metadata);
        return (tensors, JsonSerializer.Deserialize<string[]>(metadata["images"])!);
    }

    [TestMethod]
    public void ImagesListedAfterTheOptionAndRepeatedTextsAreAllEncodedInOrder()
    {
        using var dir = new TempDir();
        var images = TinyClip.Images(dir.File("images"), 3);
        var output = dir.File("features.safetensors");

        // As the shell passes '--images images/*.png': the first file after the option, the others as arguments.
        var run = CliRunner.Run("embed", "--model", TinyClip.Folder, "--vocab", TinyClip.Vocabulary, "--images", images[0], images[1], images[2],
            "--texts", "a photo of a cookie", "--texts", "a cracked cookie", "--out", output);

        Assert.AreEqual(ExitCodes.Success, run.ExitCode, run.ToString());
        StringAssert.Contains(run.Output, "3 image(s), 2 text(s)");
        var (tensors, listed) = Read(output);
        CollectionAssert.AreEqual(images, listed, "the metadata lists the images in row order");
        using var encoder = ClipEncoder.Load(TinyClip.Folder, vocabularyPath: TinyClip.Vocabulary);
        using var _ = no_grad();
        using var features = tensors["image_features"].ToTensor();
        CollectionAssert.AreEqual(new long[] { 3, 64 }, features.shape);
        for (int i = 0; i < images.Length; i++)
        {
            using var image = ImageLoader.Default.Load(images[i]);
            using var pixels = encoder.Preprocess([image]);
            using var expected = encoder.EncodeImage(pixels);
            Assert.IsTrue(features[i].unsqueeze(0).allclose(expected, rtol: 1e-4, atol: 1e-5), $"row {i} is {images[i]}'s features");
        }
        using var texts = tensors["text_features"].ToTensor();
        using var expectedTexts = encoder.EncodeText(["a photo of a cookie", "a cracked cookie"]);
        Assert.IsTrue(texts.allclose(expectedTexts, rtol: 1e-4, atol: 1e-5), "the texts are encoded in order");
        CollectionAssert.AreEqual(new long[] { 2, 77 }, tensors["tokens"].Shape);
        Assert.IsEmpty(Directory.GetFiles(dir.Path, "*.tmp"));
    }

    [TestMethod]
    public void RepeatedImagesOptionsAndFoldersGiveEachFileOnce()
    {
        using var dir = new TempDir();
        var images = TinyClip.Images(dir.File("images"), 2);
        var output = dir.File("features.safetensors");

        var run = CliRunner.Run("embed", "--model", TinyClip.Folder, "--vocab", TinyClip.Vocabulary,
            "--images", images[1], "--images", dir.File("images"), "--out", output);

        Assert.AreEqual(ExitCodes.Success, run.ExitCode, run.ToString());
        var (tensors, listed) = Read(output);
        CollectionAssert.AreEqual(new[] { images[1], images[0] }, listed, "the file given first, then the folder's other file");
        CollectionAssert.AreEqual(new long[] { 2, 64 }, tensors["image_features"].Shape);
        Assert.IsFalse(tensors.ContainsKey("text_features"));
    }

    [TestMethod]
    public void ASecondTextWithoutItsOptionIsRefusedNamingIt()
    {
        using var dir = new TempDir();
        var output = dir.File("features.safetensors");

        var run = CliRunner.Run("embed", "--model", TinyClip.Folder, "--vocab", TinyClip.Vocabulary, "--texts", "a cat", "a dog", "--out", output);

        Assert.AreEqual(ExitCodes.BadInput, run.ExitCode, run.ToString());
        Assert.HasCount(1, run.ErrorLines, run.ToString());
        StringAssert.Contains(run.ErrorLines[0], "'a dog' is neither a file nor a folder");
        Assert.IsFalse(File.Exists(output));
    }
}
