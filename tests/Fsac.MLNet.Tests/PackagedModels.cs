namespace Fsac.MLNet.Tests;

/// <summary>
/// The ONNX files that the package Microsoft.ML.DnnImageFeaturizer.ResNet18 copies into the test output
/// (through the library's package reference); never committed.
/// </summary>
public static class PackagedModels
{
    public static string ResNet18 => Existing("DnnImageModels", "ResNet18Onnx", "ResNet18.onnx");

    public static string ResNetPreprocess => Existing("DnnImageModels", "ResNetPrepOnnx", "ResNetPreprocess.onnx");

    private static string Existing(params string[] parts)
    {
        var path = Path.Combine([AppContext.BaseDirectory, .. parts]);
        if (!File.Exists(path))
            throw new AssertFailedException($"'{path}' is missing: the package Microsoft.ML.DnnImageFeaturizer.ResNet18 should copy it to the output.");
        return path;
    }
}
