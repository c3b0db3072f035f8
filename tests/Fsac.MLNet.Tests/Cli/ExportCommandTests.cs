using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Export;
using Fsac.MLNet.Head;
using Fsac.MLNet.PatchCore;
using Fsac.MLNet.Tests.TestDoubles;
using Fsac.MLNet.Tests.Checkpoints;
using Fsac.Cli;
using Fsac.Cli.Commands;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Cli.Testing;
using TorchSharp;

namespace Fsac.MLNet.Tests.Cli;

/// <summary><c>fsac export</c> in-process, on a ResNet18 PatchCore model fitted on synthetic 60x40 surfaces.</summary>
[TestClass]
public sealed class ExportCommandTests
{
    private const int Resolution = 224;

    private static TempDir s_folder = null!;
    private static string s_model = null!;

    [ClassInitialize]
    public static void FitOnce(TestContext _)
    {
        s_folder = new TempDir();
        var rng = new Random(4);
        var normals = Enumerable.Range(0, 2).Select(_ => SyntheticImages.Normal(rng, 60, 40)).ToList();
        var options = new AnomalyMethodOptions
        {
            Method = AnomalyMethod.PatchCore,
            PatchCore = new PatchCoreOptions { Resolution = Resolution, Search = SearchPrecision.Float32, CalibrationAnomaliesPerNormal = 1 },
            Seed = 1,
        };
        using var model = FewShotAnomalyClassifier.Fit(new BackboneReference("resnet18"), normals, options);
        s_model = s_folder.File("surface.fsac");
        model.Save(s_model);
        normals.ForEach(n => n.Dispose());
    }

    [ClassCleanup]
    public static void Cleanup() => s_folder?.Dispose();

    private static (int ExitCode, string Output) Run(params string[] args)
    {
        var run = CliRunner.Run(args);
        return (run.ExitCode, run.Output + run.Error);
    }

    [TestMethod]
    public void ExportWritesAnOnnxGraphForTheCamerasLayout_ThatScoresAsTheModelDoes()
    {
        var onnx = s_folder.File("out/surface.onnx");
        var (code, output) = Run("export", "--model", s_model, "--out", onnx, "--image-size", "60x40");
        Assert.AreEqual(ExitCodes.Success, code, output);
        StringAssert.Contains(output, OnnxExport.AnomalyMapOutput);

        using var model = FewShotAnomalyClassifier.Load(s_model);
        using var encoder = ResNet18Encoder.LoadDefault();
        using var view = (ResNet18Encoder)encoder.WithResolution(Resolution);
        using var image = SyntheticImages.Defective(new Random(8), 60, 40);
        var layout = view.Layout(60, 40);
        using var session = new InferenceSession(onnx);
        CollectionAssert.AreEqual(new[] { -1, 3, layout.Height, layout.Width }, session.InputMetadata[OnnxExport.PixelsInput].Dimensions);

        using var scope = torch.NewDisposeScope();
        var pixels = new DenseTensor<float>(view.Pixels([image]).data<float>().ToArray(), [1, 3, layout.Height, layout.Width]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExport.PixelsInput, pixels)]);
        float score = results.Single(r => r.Name == OnnxExport.ScoreOutput).AsTensor<float>()[0];
        float expected = model.Score([image])[0];
        Assert.AreEqual(expected, score, 1e-5f * expected, "the exported graph scores as the saved model does");
        Assert.AreEqual(expected >= model.Threshold, results.Single(r => r.Name == OnnxExport.IsAnomalyOutput).AsTensor<bool>()[0]);
    }

    [TestMethod]
    public void ExportWithoutAnOutPathWritesBesideTheModel_AndABadImageSizeIsRefused()
    {
        var (bad, badOutput) = Run("export", "--model", s_model, "--image-size", "60by40");
        Assert.AreNotEqual(ExitCodes.Success, bad);
        StringAssert.Contains(badOutput, "--image-size");
        Assert.IsFalse(File.Exists(Path.ChangeExtension(s_model, ".onnx")), "a refused command writes nothing");

        var (code, output) = Run("export", "--model", s_model);
        Assert.AreEqual(ExitCodes.Success, code, output);
        using var session = new InferenceSession(Path.ChangeExtension(s_model, ".onnx"));
        CollectionAssert.AreEqual(new[] { -1, 3, Resolution, Resolution }, session.InputMetadata[OnnxExport.PixelsInput].Dimensions, "a square image by default");
    }

    [TestMethod]
    public void ResizeExportsAGraphThatTakesTheDecodedImage_AndScoresItAsTheModelDoes()
    {
        var onnx = s_folder.File("out/surface-resize.onnx");
        var (code, output) = Run("export", "--model", s_model, "--out", onnx, "--image-size", "60x40", "--resize");
        Assert.AreEqual(ExitCodes.Success, code, output);
        StringAssert.Contains(output, "resized inside the graph");

        using var model = FewShotAnomalyClassifier.Load(s_model);
        using var session = new InferenceSession(onnx);
        CollectionAssert.AreEqual(new[] { -1, 3, 40, 60 }, session.InputMetadata[OnnxExport.PixelsInput].Dimensions, "the decoded 60x40 image");
        Assert.AreEqual("true", session.ModelMetadata.CustomMetadataMap["fsac.resize_in_graph"]);
        using var image = SyntheticImages.Defective(new Random(8), 60, 40);
        var pixels = new DenseTensor<float>(Export.OnnxExportTests.Planes([image]), [1, 3, 40, 60]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(OnnxExport.PixelsInput, pixels)]);
        float score = results.Single(r => r.Name == OnnxExport.ScoreOutput).AsTensor<float>()[0];
        float expected = model.Score([image])[0];
        Assert.AreEqual(expected, score, (float)Export.OnnxExportTests.ResizeInGraphTolerance * expected, "the graph resizes as the library does");
        Assert.AreEqual(expected >= model.Threshold, results.Single(r => r.Name == OnnxExport.IsAnomalyOutput).AsTensor<bool>()[0]);

        var repository = s_folder.File("triton-resize");
        (code, output) = Run("export", "--model", s_model, "--triton", repository, "--name", "surface", "--image-size", "60x40", "--resize");
        Assert.AreEqual(ExitCodes.Success, code, output);
        StringAssert.Contains(File.ReadAllText(Path.Combine(repository, "surface", "config.pbtxt")),
            $"{{ name: \"{OnnxExport.PixelsInput}\" data_type: TYPE_FP32 dims: [ 3, 40, 60 ] }}");
    }

    [TestMethod]
    public void AGlobalFsacModelExports_WithScoreAndDecisionButNoAnomalyMap_AndSaysSo()
    {
        var rng = new Random(6);
        var normals = Enumerable.Range(0, 2).Select(_ => SyntheticImages.Normal(rng, 60, 40)).ToList();
        var options = new AnomalyMethodOptions
        {
            Method = AnomalyMethod.Fsac,
            Fsac = FsacPreset.MVTec with { ClassName = "surface", EpochsPerStage = 1, AnomaliesPerNormal = 1, CalibrationAnomaliesPerNormal = 1 },
            Seed = 1,
            BatchSize = 8,
        };
        var path = s_folder.File("fsac.fsac");
        using (var fitted = FewShotAnomalyClassifier.Fit(new BackboneReference("resnet18"), normals, options))
            fitted.Save(path);
        normals.ForEach(n => n.Dispose());

        var onnx = s_folder.File("out/fsac.onnx");
        var (code, output) = Run("export", "--model", path, "--out", onnx);
        Assert.AreEqual(ExitCodes.Success, code, output);
        StringAssert.Contains(output, "gradient saliency");
        using var session = new InferenceSession(onnx);
        CollectionAssert.AreEqual(new[] { OnnxExport.ScoreOutput, OnnxExport.IsAnomalyOutput }, session.OutputNames.ToArray());
        Assert.AreEqual("fsac", session.ModelMetadata.CustomMetadataMap["fsac.method"]);
    }

    [TestMethod]
    public void ResizeWithoutAnImageSizeIsRefused_NamingBothOptions()
    {
        var onnx = s_folder.File("out/no-size.onnx");
        var (code, output) = Run("export", "--model", s_model, "--out", onnx, "--resize");
        Assert.AreEqual(ExitCodes.BadInput, code, output);
        StringAssert.Contains(output, "--resize");
        StringAssert.Contains(output, "--image-size");
        Assert.IsFalse(File.Exists(onnx), "a refused command writes nothing");
    }

    [TestMethod]
    public void TritonWritesAModelRepositoryWhoseConfigMatchesTheGraph()
    {
        var repository = s_folder.File("triton");
        var (code, output) = Run("export", "--model", s_model, "--triton", repository, "--name", "surface", "--image-size", "60x40");
        Assert.AreEqual(ExitCodes.Success, code, output);
        var onnx = Path.Combine(repository, "surface", "1", "model.onnx");
        var config = File.ReadAllText(Path.Combine(repository, "surface", "config.pbtxt"));

        using var session = new InferenceSession(onnx);
        StringAssert.Contains(config, "name: \"surface\"");
        StringAssert.Contains(config, "backend: \"onnxruntime\"");
        StringAssert.Contains(config, "max_batch_size: 8");
        StringAssert.Contains(config, "dynamic_batching { }");
        // Each tensor of the graph, with the batch dimension left out of its dims.
        var input = session.InputMetadata[OnnxExport.PixelsInput].Dimensions;
        StringAssert.Contains(config, $"{{ name: \"{OnnxExport.PixelsInput}\" data_type: TYPE_FP32 dims: [ {string.Join(", ", input.Skip(1))} ] }}");
        var map = session.OutputMetadata[OnnxExport.AnomalyMapOutput].Dimensions;
        StringAssert.Contains(config, $"{{ name: \"{OnnxExport.AnomalyMapOutput}\" data_type: TYPE_FP32 dims: [ {string.Join(", ", map.Skip(1))} ] }}");
        StringAssert.Contains(config, $"{{ name: \"{OnnxExport.ScoreOutput}\" data_type: TYPE_FP32 dims: [ 1 ] reshape: {{ shape: [ ] }} }}");
        StringAssert.Contains(config, $"{{ name: \"{OnnxExport.IsAnomalyOutput}\" data_type: TYPE_BOOL dims: [ 1 ] reshape: {{ shape: [ ] }} }}");
        Assert.AreEqual(4, config.Split("{ name:").Length - 1, "one entry per input and output");
    }

    [TestMethod]
    public void TritonRefusesABadNameAndAnOutPathBesideIt()
    {
        var repository = s_folder.File("triton-bad");
        var (code, output) = Run("export", "--model", s_model, "--triton", repository, "--name", "../escape");
        Assert.AreEqual(ExitCodes.BadInput, code, output);
        StringAssert.Contains(output, "../escape");
        Assert.IsFalse(Directory.Exists(s_folder.File("escape")), "nothing is created outside the repository");
        Assert.IsFalse(Directory.Exists(repository), "nothing is created for a refused name");
        var (both, bothOutput) = Run("export", "--model", s_model, "--triton", repository, "--out", s_folder.File("x.onnx"));
        Assert.AreEqual(ExitCodes.BadInput, both, bothOutput);
        Assert.IsFalse(File.Exists(s_folder.File("x.onnx")));
        Assert.ThrowsExactly<ArgumentException>(() => TritonRepository.Config("ok", [1, 2, 3]));
    }
}
