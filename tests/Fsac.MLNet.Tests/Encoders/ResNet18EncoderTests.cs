using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Encoders;
using Microsoft.ML.OnnxRuntime;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using TorchSharp;

namespace Fsac.MLNet.Tests.Encoders;

[TestClass]
public sealed class ResNet18EncoderTests
{
    private static ResNet18Encoder s_fp32 = null!;
    private static ResNet18Encoder s_bf16 = null!;
    private static List<Image<Rgb24>> s_images = null!;

    public TestContext TestContext { get; set; } = null!;

    [ClassInitialize]
    public static void LoadEncodersAndImages(TestContext _)
    {
        // TorchSharp: these tests check the imported network itself (EncoderEngineTests compares the engines).
        s_fp32 = ResNet18Encoder.LoadDefault(EncoderPrecision.Float32, EncoderEngine.TorchSharp);
        s_bf16 = ResNet18Encoder.LoadDefault(EncoderPrecision.BFloat16);
        // Two colour photographs (576x768) and two greyscale EL cells (300x300).
        var cookies = Directory.GetFiles(SharedData.Path("data", "cookies", "normal"), "*.jpg").Order(StringComparer.Ordinal).Take(2);
        var cells = Directory.GetFiles(SharedData.Path("data", "elpv", "mono", "normal"), "*.png").Order(StringComparer.Ordinal).Take(2);
        s_images = cookies.Concat(cells).Select(Image.Load<Rgb24>).ToList();
    }

    [ClassCleanup]
    public static void Release()
    {
        s_fp32?.Dispose();
        s_bf16?.Dispose();
        s_images?.ForEach(i => i.Dispose());
    }

    [TestMethod]
    public void LoadDefault_DescribesThePackagedModel()
    {
        StringAssert.Matches(s_fp32.Name, new System.Text.RegularExpressions.Regex("^resnet18-imagenet-[0-9a-f]{8}$"));
        Assert.AreEqual(s_fp32.Name, s_bf16.Name, "precision is not part of the weights' identity");
        Assert.AreEqual(512, s_fp32.FeatureDim);
        Assert.AreEqual(224, s_fp32.ImageSize);
        Assert.AreEqual(EncoderPrecision.BFloat16, s_bf16.Precision);
    }

    [TestMethod]
    public void Preprocess_OfSquareImage_EqualsResNetPreprocessOnnx()
    {
        using var session = new InferenceSession(PackagedModels.ResNetPreprocess);
        var inputName = session.InputMetadata.Keys.Single();
        foreach (var image in s_images)
        {
            // At 224x224 the encoder's resize is the identity, so this isolates channel order and mean subtraction.
            using var square = image.Clone(c => c.Resize(new ResizeOptions { Size = new Size(224, 224), Mode = ResizeMode.Crop }));
            var rgb = new float[3 * 224 * 224];
            for (var y = 0; y < 224; y++)
                for (var x = 0; x < 224; x++)
                {
                    var p = square[x, y];
                    rgb[y * 224 + x] = p.R;
                    rgb[224 * 224 + y * 224 + x] = p.G;
                    rgb[2 * 224 * 224 + y * 224 + x] = p.B;
                }
            var expected = RunOnnx(session, inputName, rgb);

            using var actual = s_fp32.Preprocess([square]);
            CollectionAssert.AreEqual(new long[] { 1, 3, 224, 224 }, actual.shape);
            var error = MaxAbsDifference(actual.data<float>().ToArray(), expected);
            TestContext.WriteLine($"preprocess max abs error {error:G3}");
            Assert.IsLessThanOrEqualTo(1e-4, error);
        }
    }

    [TestMethod]
    public void EncodeImage_Float32_EqualsOnnxRuntime()
    {
        using var session = new InferenceSession(PackagedModels.ResNet18);
        var inputName = session.InputMetadata.Keys.Single();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var pixels = s_fp32.Preprocess(s_images);
        var features = s_fp32.EncodeImage(pixels);
        CollectionAssert.AreEqual(new long[] { s_images.Count, 512 }, features.shape);
        Assert.AreEqual(torch.ScalarType.Float32, features.dtype);
        for (var i = 0; i < s_images.Count; i++)
        {
            var expected = RunOnnx(session, inputName, pixels[i].data<float>().ToArray());
            Assert.HasCount(512, expected);
            var scale = expected.Max(MathF.Abs);
            var relative = MaxAbsDifference(features[i].data<float>().ToArray(), expected) / scale;
            TestContext.WriteLine($"image {i}: max abs value {scale:G4}, max abs error / max abs value {relative:G3}");
            Assert.IsGreaterThan(0f, scale);
            Assert.IsLessThanOrEqualTo(1e-4, relative);
        }
    }

    [TestMethod]
    public void EncodeImage_BFloat16_IsCloseToFloat32()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var pixels = s_fp32.Preprocess(s_images);
        var full = s_fp32.EncodeImage(pixels);
        var half = s_bf16.EncodeImage(pixels);
        Assert.AreEqual(torch.ScalarType.Float32, half.dtype);
        var cosine = torch.nn.functional.cosine_similarity(full, half, dim: 1).data<float>().ToArray();
        TestContext.WriteLine($"bf16 vs fp32 cosine: {string.Join(", ", cosine.Select(c => c.ToString("F5")))}");
        Assert.HasCount(s_images.Count, cosine);
        foreach (var c in cosine) Assert.IsGreaterThanOrEqualTo(0.99f, c);
    }

    [TestMethod]
    [DataRow(EncoderPrecision.Float32)]
    [DataRow(EncoderPrecision.BFloat16)]
    public void EncodeImage_GradientWithRespectToPixels_IsNonZeroAndFinite(EncoderPrecision precision)
    {
        var encoder = precision == EncoderPrecision.Float32 ? s_fp32 : s_bf16;
        using var scope = torch.NewDisposeScope();
        var pixels = encoder.Preprocess(s_images.Take(2).ToList()).requires_grad_();
        encoder.EncodeImage(pixels).pow(2).sum().backward();
        var grad = pixels.grad;
        Assert.IsNotNull(grad);
        CollectionAssert.AreEqual(pixels.shape, grad.shape);
        Assert.IsTrue(grad.isfinite().all().item<bool>(), "gradient has NaN or infinity");
        for (var i = 0; i < 2; i++)
            Assert.IsGreaterThan(0.0, grad[i].abs().sum().item<float>(), $"image {i} got no gradient");
    }

    [TestMethod]
    public void Encode_BatchLargerThanOnePassEqualsEachImageAlone()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        // Nine images at 224x224 run in passes of 4, 4 and 1 (FrozenPasses).
        var batch = torch.cat([s_fp32.Preprocess(s_images), s_fp32.Preprocess(s_images), s_fp32.Preprocess(s_images[..1])], 0);
        Assert.AreEqual(9L, batch.shape[0]);
        var together = s_fp32.Encode(batch, EncoderOutputs.Both);
        for (var i = 0; i < 9; i++)
        {
            var alone = s_fp32.Encode(batch[i..(i + 1)], EncoderOutputs.Both);
            Assert.IsLessThanOrEqualTo(1e-5f, (alone.Global![0] - together.Global![i]).abs().max().item<float>(), $"image {i} pooled");
            Assert.IsLessThanOrEqualTo(1e-5f, (alone.Patches![0] - together.Patches![i]).abs().max().item<float>(), $"image {i} patches");
        }
    }

    [TestMethod]
    public void EncodeImage_RowDependsOnlyOnItsImage()
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var batch = s_fp32.Preprocess(s_images);
        Assert.AreEqual(4L, batch.shape[0]);
        var together = s_fp32.EncodeImage(batch);
        foreach (var i in new[] { 0, 3 })
        {
            var alone = s_fp32.EncodeImage(batch[i..(i + 1)]);
            var difference = (alone[0] - together[i]).abs().max().item<float>();
            TestContext.WriteLine($"image {i}: alone vs batch max abs difference {difference:G3}");
            Assert.IsLessThanOrEqualTo(1e-5f, difference);
        }
    }

    [TestMethod]
    public void EncodeImage_WrongShape_Throws()
    {
        using var scope = torch.NewDisposeScope();
        Assert.ThrowsExactly<ArgumentException>(() => s_fp32.EncodeImage(torch.zeros(1, 3, 112, 112)));
        Assert.ThrowsExactly<ArgumentException>(() => s_fp32.EncodeImage(torch.zeros(1, 3, 224, 224, dtype: torch.ScalarType.Float64)));
    }

    [TestMethod]
    public void Load_TruncatedModel_ThrowsCheckpointFormatNamingTheFile()
    {
        var dir = Directory.CreateTempSubdirectory("fsac-resnet-");
        try
        {
            var path = Path.Combine(dir.FullName, "ResNet18.onnx");
            var bytes = File.ReadAllBytes(PackagedModels.ResNet18);
            File.WriteAllBytes(path, bytes[..(bytes.Length * 3 / 4)]);
            File.Copy(PackagedModels.ResNetPreprocess, Path.Combine(dir.FullName, "ResNetPreprocess.onnx"));
            var e = Assert.ThrowsExactly<CheckpointFormatException>(() => ResNet18Encoder.Load(path));
            Assert.AreEqual(path, e.FilePath);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [TestMethod]
    public void Load_GraphThatIsNotAResNet_ThrowsCheckpointFormat()
    {
        var notResNet = PackagedModels.ResNetPreprocess;
        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => ResNet18Encoder.Load(notResNet, notResNet));
        Assert.AreEqual(notResNet, e.FilePath);
        StringAssert.Contains(e.Message, "ResNet");
    }

    [TestMethod]
    public void Load_MissingFile_NamesThePackage()
    {
        var e = Assert.ThrowsExactly<FileNotFoundException>(() => ResNet18Encoder.Load(Path.Combine(Path.GetTempPath(), "missing", "ResNet18.onnx")));
        StringAssert.Contains(e.Message, ResNet18Encoder.PackageId);
    }

    private static float[] RunOnnx(InferenceSession session, string inputName, float[] chw)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(chw, [1, 3, 224, 224]);
        using var outputs = session.Run(new RunOptions(), [inputName], [input], session.OutputNames);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static float MaxAbsDifference(float[] a, float[] b)
    {
        Assert.HasCount(b.Length, a);
        return a.Zip(b, (x, y) => MathF.Abs(x - y)).Max();
    }
}
