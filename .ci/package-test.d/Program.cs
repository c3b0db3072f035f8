// The package test's program: a fresh console project that references the built Fsac.MLNet package only.
// Fits the default method on ResNet18 with 2 normal images, saves and reloads the model, scores a held-out normal
// and an anomalous image, writes a heatmap, and prints "package-test: OK" when every check holds.
// Usage: dotnet run -- <data folder with normal/ and anomaly/, or "generate"> <output folder>

using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Visualisation;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

var output = Directory.CreateDirectory(args[1]).FullName;
var data = args[0] == "generate" ? Generate(Path.Combine(output, "data")) : args[0];
var normals = Directory.GetFiles(Path.Combine(data, "normal")).Order(StringComparer.Ordinal).ToArray();
var anomaly = Directory.GetFiles(Path.Combine(data, "anomaly")).Order(StringComparer.Ordinal).First();

var shots = normals[..2].Select(ImageLoader.Default.Load).ToList();
var modelPath = Path.Combine(output, "model.fsac");
using (var fitted = FewShotAnomalyClassifier.Fit(new BackboneReference("resnet18"), shots))
    fitted.Save(modelPath);

using var model = FewShotAnomalyClassifier.Load(modelPath);
using var normal = ImageLoader.Default.Load(normals[2]);
using var bad = ImageLoader.Default.Load(anomaly);
var scores = model.Score([normal, bad]);
SaliencyOverlay.WritePng(bad, model.AnomalyMap(bad), Path.Combine(output, "heatmap.png"));
Console.WriteLine($"backbone {model.BackboneName}, threshold {model.Threshold:F4}, normal {scores[0]:F4}, anomaly {scores[1]:F4}");

bool ok = model.Backbone?.Spec == "resnet18" && scores.All(float.IsFinite) && scores[1] > scores[0] && float.IsFinite(model.Threshold)
    && File.Exists(Path.Combine(output, "heatmap.png"));
Console.WriteLine(ok ? "package-test: OK" : "package-test: FAILED");
shots.ForEach(s => s.Dispose());
return ok ? 0 : 1;

// Without the shared images: smooth noisy textures as normals, the same texture with a dark blotch as the anomaly.
static string Generate(string folder)
{
    var random = new Random(0);
    Image<Rgb24> Texture(bool blotch)
    {
        var image = new Image<Rgb24>(128, 128);
        for (int y = 0; y < 128; y++)
            for (int x = 0; x < 128; x++)
            {
                int v = 150 + (int)(20 * Math.Sin(x / 9.0) * Math.Cos(y / 11.0)) + random.Next(-12, 13);
                bool dark = blotch && (x - 80) * (x - 80) + (y - 50) * (y - 50) < 15 * 15;
                image[x, y] = dark ? new Rgb24(40, 30, 20) : new Rgb24((byte)v, (byte)(v - 20), (byte)(v - 50));
            }
        return image;
    }
    Directory.CreateDirectory(Path.Combine(folder, "normal"));
    Directory.CreateDirectory(Path.Combine(folder, "anomaly"));
    for (int i = 0; i < 3; i++)
        using (var image = Texture(blotch: false)) image.SaveAsPng(Path.Combine(folder, "normal", $"normal-{i}.png"));
    using (var image = Texture(blotch: true)) image.SaveAsPng(Path.Combine(folder, "anomaly", "anomaly-0.png"));
    return folder;
}
