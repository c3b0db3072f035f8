// Scores images with a model exported by `fsac export` (one ONNX graph), using ML.NET's own image transforms and
// ONNX Runtime only: LoadImages -> ResizeImages -> ExtractPixels -> ApplyOnnxModel, or, for a model exported with
// `--resize` (metadata fsac.resize_in_graph = true), which resizes inside the graph, the decoded images at their own
// size -> ExtractPixels -> ApplyOnnxModel with no ResizeImages. Nothing of Fsac.MLNet, TorchSharp or libtorch is
// referenced.
//
//   dotnet run --project samples/OnnxScoring -- <model.onnx> <images or folders...> [--scores out.tsv] [--input-size WxH]
//
// Exit codes: 0 scored, 2 bad input (missing or invalid model, no images, an unreadable image, bad options).

using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Transforms.Image;

namespace Fsac.Samples.OnnxScoring;

public static class Program
{
    // The graph's tensor names (README, "Deploying (ONNX)").
    private const string PixelsInput = "pixels";
    private const string ScoreOutput = "score";
    private const string IsAnomalyOutput = "is_anomaly";

    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    private const string Usage =
        "usage: OnnxScoring <model.onnx> <image files or folders...> [--scores out.tsv] [--input-size WxH]";

    public static int Main(string[] args)
    {
        try
        {
            return Run(args);
        }
        catch (BadInputException e)
        {
            Console.Error.WriteLine($"OnnxScoring: {e.Message}");
            return 2;
        }
    }

    private static int Run(string[] args)
    {
        var (modelPath, inputs, scoresPath, inputSize) = ParseArguments(args);
        if (modelPath is null) return 0;   // --help
        var model = ReadModel(modelPath, inputSize);
        var images = FindImages(inputs);

        var results = Score(model, images);

        Console.WriteLine($"model      {model.Path}");
        Console.WriteLine(model.ResizeInGraph
            ? $"input      {PixelsInput} [N, 3, {model.Height}, {model.Width}]: the decoded {model.Width}x{model.Height} images, resized inside the graph (fsac.resize_in_graph)"
            : $"input      {PixelsInput} [N, 3, {model.Height}, {model.Width}] (W x H = {model.Width}x{model.Height}), resized by ML.NET's ResizeImages");
        Console.WriteLine($"threshold  {(model.Threshold is { } t ? t.ToString("R", CultureInfo.InvariantCulture) + " (fsac.threshold; is_anomaly is score >= it)" : "(not in the metadata)")}");

        foreach (var r in results)
            Console.WriteLine($"{r.Image}\t{r.Score.ToString("F4", CultureInfo.InvariantCulture)}\t{(r.Anomalous ? "anomalous" : "normal")}");
        Console.WriteLine($"{results.Count} image{(results.Count == 1 ? "" : "s")}: {results.Count(r => r.Anomalous)} anomalous, {results.Count(r => !r.Anomalous)} normal");

        if (scoresPath is not null)
        {
            var lines = results.Select(r => $"{r.Image}\t{r.Score.ToString("R", CultureInfo.InvariantCulture)}\t{(r.Anomalous ? "true" : "false")}");
            try
            {
                File.WriteAllLines(scoresPath, ["image\tscore\tanomalous", .. lines]);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new BadInputException($"cannot write the scores file '{scoresPath}': {e.Message}");
            }
            Console.WriteLine($"scores     {Path.GetFullPath(scoresPath)}");
        }
        return 0;
    }

    private static List<ScoredImage> Score(ModelInfo model, IReadOnlyList<string> images)
        => model.ResizeInGraph ? ScoreDecoded(model, images) : ScoreResized(model, images);

    /// <summary>
    /// The ML.NET pipeline for a plain export. ResizeImages (IsoCrop, centre anchor) scales the image so that it covers
    /// W x H and crops the overflow, as the library's layout does for an image of the exported size, but it resamples
    /// with SkiaSharp (whole-pixel crop offsets, its own filter) where the library uses ImageSharp's triangle filter, so
    /// scores differ slightly (README, "From ML.NET, without TorchSharp"). ExtractPixels with RGB colours in ARGB order, planar (not
    /// interleaved), scale 1 and offset 0 gives float32 R, G, B planes on the 0..255 scale: the graph's <c>pixels</c>
    /// input, which normalises inside. The row's vector of 3*H*W floats is fed as [1, 3, H, W]. A model exported with
    /// <c>fsac export --resize</c> needs none of this resizing (<see cref="ScoreDecoded"/>).
    /// </summary>
    private static List<ScoredImage> ScoreResized(ModelInfo model, IReadOnlyList<string> images)
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(images.Select(p => new ImageInput { ImagePath = p }));
        var pipeline = ml.Transforms.LoadImages(outputColumnName: "image", imageFolder: null, inputColumnName: nameof(ImageInput.ImagePath))
            .Append(ml.Transforms.ResizeImages(outputColumnName: "resized", imageWidth: model.Width, imageHeight: model.Height,
                inputColumnName: "image", resizing: ImageResizingEstimator.ResizingKind.IsoCrop, cropAnchor: ImageResizingEstimator.Anchor.Center))
            .Append(ml.Transforms.ExtractPixels(outputColumnName: PixelsInput, inputColumnName: "resized",
                colorsToExtract: ImagePixelExtractingEstimator.ColorBits.Rgb, orderOfExtraction: ImagePixelExtractingEstimator.ColorsOrder.ARGB,
                interleavePixelColors: false, offsetImage: 0f, scaleImage: 1f, outputAsFloatArray: true))
            .Append(ml.Transforms.ApplyOnnxModel(outputColumnNames: [ScoreOutput, IsAnomalyOutput], inputColumnNames: [PixelsInput],
                modelFile: model.Path, shapeDictionary: new Dictionary<string, int[]> { [PixelsInput] = [1, 3, model.Height, model.Width] },
                gpuDeviceId: null, fallbackToCpu: false));

        return Collect(ml, pipeline.Fit(data).Transform(data), model, images);
    }

    /// <summary>
    /// The pipeline for a model that resizes inside its graph: the images are only decoded, with SkiaSharp's
    /// <see cref="MLImage.CreateFromFile"/> as LoadImages decodes them, and checked to have the exported size; ExtractPixels
    /// (as above) and ApplyOnnxModel follow, with no ResizeImages, so that the graph alone resizes. ExtractPixels needs
    /// images of a known size, which LoadImages' output does not declare, so the decoded images come in through
    /// LoadFromEnumerable as a column declared W x H. Each image is released once the next one is decoded.
    /// </summary>
    private static List<ScoredImage> ScoreDecoded(ModelInfo model, IReadOnlyList<string> images)
    {
        var ml = new MLContext(seed: 0);
        DataViewTypeManager.Register(new ImageDataViewType(model.Height, model.Width), typeof(MLImage));
        var data = ml.Data.LoadFromEnumerable(Decode(model, images));
        var pipeline = ml.Transforms.ExtractPixels(outputColumnName: PixelsInput, inputColumnName: nameof(DecodedImage.Image),
                colorsToExtract: ImagePixelExtractingEstimator.ColorBits.Rgb, orderOfExtraction: ImagePixelExtractingEstimator.ColorsOrder.ARGB,
                interleavePixelColors: false, offsetImage: 0f, scaleImage: 1f, outputAsFloatArray: true)
            .Append(ml.Transforms.ApplyOnnxModel(outputColumnNames: [ScoreOutput, IsAnomalyOutput], inputColumnNames: [PixelsInput],
                modelFile: model.Path, shapeDictionary: new Dictionary<string, int[]> { [PixelsInput] = [1, 3, model.Height, model.Width] },
                gpuDeviceId: null, fallbackToCpu: false));
        return Collect(ml, pipeline.Fit(data).Transform(data), model, images);
    }

    private static IEnumerable<DecodedImage> Decode(ModelInfo model, IReadOnlyList<string> images)
    {
        DecodedImage? previous = null;
        try
        {
            foreach (var path in images)
            {
                MLImage image;
                try
                {
                    image = MLImage.CreateFromFile(path);
                }
                catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException)
                {
                    throw new BadInputException($"cannot read image '{path}': SkiaSharp, which ML.NET's image transforms use, does not decode it ({FirstLine(e.Message)})");
                }
                if (image.Width != model.Width || image.Height != model.Height)
                {
                    var (width, height) = (image.Width, image.Height);
                    image.Dispose();
                    throw new BadInputException($"'{path}' is {width}x{height}, but '{model.Path}' resizes inside its graph and takes " +
                        $"{model.Width}x{model.Height} images (fsac.image_width/fsac.image_height); export it for this size (fsac export --image-size WxH --resize)");
                }
                previous?.Image?.Dispose();
                previous = new DecodedImage { ImagePath = path, Image = image };
                yield return previous;
            }
        }
        finally
        {
            previous?.Image?.Dispose();
        }
    }

    // Reads the scored rows, in the input order; an image that does not decode is named.
    private static List<ScoredImage> Collect(MLContext ml, IDataView scored, ModelInfo model, IReadOnlyList<string> images)
    {
        var results = new List<ScoredImage>(images.Count);
        try
        {
            foreach (var row in ml.Data.CreateEnumerable<ScoredRow>(scored, reuseRowObject: false))
            {
                if (row.Score.Length != 1 || row.IsAnomaly.Length != 1)
                    throw new BadInputException($"'{model.Path}' returned {row.Score.Length} scores for one image; is it an fsac export?");
                results.Add(new ScoredImage(row.ImagePath, row.Score[0], row.IsAnomaly[0]));
            }
        }
        catch (Exception e) when (e is not BadInputException)
        {
            // ML.NET wraps what the decoding above throws.
            for (var inner = e; inner is not null; inner = inner.InnerException)
                if (inner is BadInputException bad) throw bad;
            // ML.NET may read rows on several threads and wraps the cause; find the image that does not decode.
            foreach (var image in images)
            {
                try
                {
                    using var decoded = MLImage.CreateFromFile(image);
                }
                catch (Exception decode) when (decode is ArgumentException or IOException or UnauthorizedAccessException)
                {
                    throw new BadInputException($"cannot read image '{image}': SkiaSharp, which ML.NET's LoadImages uses, does not decode it ({FirstLine(decode.Message)})");
                }
            }
            throw new BadInputException($"scoring failed: {FirstLine(Innermost(e).Message)}");
        }
        // Rows keep the input order in practice; sort by it anyway, since the output is keyed by path.
        var order = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < images.Count; i++) order.TryAdd(images[i], i);
        return [.. results.OrderBy(r => order[r.Image])];
    }

    private static Exception Innermost(Exception e) => e.InnerException is { } inner ? Innermost(inner) : e;

    private static ModelInfo ReadModel(string path, (int Width, int Height)? inputSize)
    {
        if (Directory.Exists(path) || !File.Exists(path)) throw new BadInputException($"model not found: '{path}'");
        path = Path.GetFullPath(path);
        InferenceSession session;
        try
        {
            // Only the metadata is read here; ApplyOnnxModel opens its own session.
            using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
            session = new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new BadInputException($"'{path}' is not an ONNX model: {FirstLine(e.Message)}");
        }
        using (session)
        {
            if (!session.InputMetadata.TryGetValue(PixelsInput, out var input) || !session.OutputMetadata.ContainsKey(ScoreOutput)
                || !session.OutputMetadata.ContainsKey(IsAnomalyOutput))
                throw new BadInputException($"'{path}' is not an fsac export: it needs the input '{PixelsInput}' and the outputs '{ScoreOutput}' and '{IsAnomalyOutput}' " +
                    $"(it has inputs {string.Join(", ", session.InputMetadata.Keys)}; outputs {string.Join(", ", session.OutputMetadata.Keys)})");
            var metadata = session.ModelMetadata.CustomMetadataMap;
            int? Meta(string key) => metadata.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : null;
            var dims = input.Dimensions;
            (int W, int H)? graph = dims.Length == 4 && dims[2] > 0 && dims[3] > 0 ? (dims[3], dims[2]) : null;
            // A model exported with --resize takes the decoded image at its own size and resizes inside the graph.
            bool resizeInGraph = metadata.TryGetValue("fsac.resize_in_graph", out var r) && string.Equals(r, "true", StringComparison.OrdinalIgnoreCase);
            var (widthKey, heightKey) = resizeInGraph ? ("fsac.image_width", "fsac.image_height") : ("fsac.input_width", "fsac.input_height");
            var size = inputSize
                ?? (Meta(widthKey) is { } w && Meta(heightKey) is { } h ? (w, h) : graph)
                ?? throw new BadInputException($"'{path}' records no input size (fsac.input_width/fsac.input_height) and its input is not fixed; pass --input-size WxH");
            if (graph is { } g && g != size)
                throw new BadInputException($"--input-size {size.Item1}x{size.Item2} does not match the graph's input [N, 3, {g.H}, {g.W}] (W x H = {g.W}x{g.H})");
            float? threshold = metadata.TryGetValue("fsac.threshold", out var t) && float.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out float f) ? f : null;
            return new ModelInfo(path, size.Item1, size.Item2, threshold, resizeInGraph);
        }
    }

    // Files as given; folders searched recursively for image files, in ordinal order of their paths.
    private static List<string> FindImages(IReadOnlyList<string> inputs)
    {
        var images = new List<string>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
                images.AddRange(Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories)
                    .Where(f => ImageExtensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                    .Select(Path.GetFullPath).Order(StringComparer.Ordinal));
            else if (File.Exists(input))
                images.Add(Path.GetFullPath(input));
            else
                throw new BadInputException($"image or folder not found: '{input}'");
        }
        if (images.Count == 0)
            throw new BadInputException($"no images: give image files, or folders that hold {string.Join("/", ImageExtensions)} files");
        return images;
    }

    private static (string? Model, List<string> Inputs, string? Scores, (int, int)? InputSize) ParseArguments(string[] args)
    {
        string? model = null, scores = null;
        (int, int)? inputSize = null;
        var inputs = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new BadInputException($"{args[i]} needs a value. {Usage}");
            switch (args[i])
            {
                case "-h" or "--help":
                    Console.WriteLine(Usage);
                    Console.WriteLine("Prints each image's score and decision (the graph's is_anomaly); --scores also writes them as TSV " +
                        "(image, score, anomalous). --input-size overrides the W x H read from the model's metadata. A model exported " +
                        "with `fsac export --resize` (fsac.resize_in_graph) takes the images as decoded, at the exported size, and resizes them itself.");
                    return (null, inputs, null, null);
                case "--scores":
                    scores = Value();
                    break;
                case "--input-size":
                    var text = Value();
                    inputSize = ParseSize(text) ?? throw new BadInputException($"--input-size must be WIDTHxHEIGHT in pixels (e.g. 224x288), not '{text}'");
                    break;
                case var option when option.StartsWith("--", StringComparison.Ordinal):
                    throw new BadInputException($"unknown option '{option}'. {Usage}");
                default:
                    if (model is null) model = args[i];
                    else inputs.Add(args[i]);
                    break;
            }
        }
        if (model is null) throw new BadInputException($"no model given. {Usage}");
        if (inputs.Count == 0) throw new BadInputException($"no images given. {Usage}");
        return (model, inputs, scores, inputSize);
    }

    private static (int, int)? ParseSize(string text)
    {
        var parts = text.Split('x', 'X');
        return parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int w)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int h) && w > 0 && h > 0 ? (w, h) : null;
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    // Width x Height: the graph's input, which for a model that resizes inside its graph is the decoded image's size.
    private sealed record ModelInfo(string Path, int Width, int Height, float? Threshold, bool ResizeInGraph);

    private sealed record ScoredImage(string Image, float Score, bool Anomalous);

    private sealed class BadInputException(string message) : Exception(message);

    public sealed class ImageInput
    {
        public string ImagePath { get; set; } = "";
    }

    public sealed class DecodedImage
    {
        public string ImagePath { get; set; } = "";

        public MLImage? Image { get; set; }
    }

    public sealed class ScoredRow
    {
        public string ImagePath { get; set; } = "";

        [ColumnName(ScoreOutput)]
        public float[] Score { get; set; } = [];

        [ColumnName(IsAnomalyOutput)]
        public bool[] IsAnomaly { get; set; } = [];
    }
}
