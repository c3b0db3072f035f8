using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.Head;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Native;
using Fsac.MLNet.PatchCore;
using Fsac.MLNet.Synthesis;
using System.ComponentModel;
using System.Diagnostics;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Spectre.Console;
using Spectre.Console.Cli;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.Cli.Commands;

/// <summary>
/// <c>fsac bench</c>: encoder throughput beside the machine's matmul peak measured in the same run, CLIP-FSAC fit
/// time (encoding included) and scoring cost, and the process's peak resident memory. CLIP weights are random:
/// speed does not depend on their values.
/// </summary>
public sealed class BenchCommand : Command<BenchCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--model <NAME>")]
        [Description("CLIP architecture to time (default ViT-B-16-plus-240).")]
        public string Model { get; init; } = "ViT-B-16-plus-240";

        [CommandOption("--batch <SIZES>")]
        [Description("Comma-separated batch sizes for the encoders (default 1,8).")]
        public string Batches { get; init; } = "1,8";

        [CommandOption("--shots <K>")]
        [Description("Comma-separated shot counts for the fit benchmark (default 1,2,4); empty to skip it.")]
        public string Shots { get; init; } = "1,2,4";

        [CommandOption("--vocab <FILE>")]
        [Description("CLIP vocabulary (bpe_simple_vocab_16e6.txt.gz) for the CLIP fit; default: the download cache, and without one there the CLIP fit is skipped. A file given here must exist.")]
        public string? Vocabulary { get; init; }

        [CommandOption("--threads <N>")]
        [Description("libtorch intra-op threads (default: all cores).")]
        public int? Threads { get; init; }

        [CommandOption("--seconds <S>")]
        [Description("Minimum measuring time per throughput case (default 5).")]
        public double Seconds { get; init; } = 5;

        [CommandOption("--soak <ROUNDS>")]
        [Description("Instead of the benchmarks: fit the default method ROUNDS times in one process, scoring --soak-images images with maps after each fit, and print the resident memory after every round.")]
        public int? Soak { get; init; }

        [CommandOption("--soak-images <N>")]
        [Description("Images scored per soak round (default 200).")]
        public int SoakImages { get; init; } = 200;

        [CommandOption("-v|--verbose")]
        [Description("Print stack traces on errors.")]
        public bool Verbose { get; init; }

        public override ValidationResult Validate()
        {
            if (Soak is < 1) return ValidationResult.Error("--soak must be at least 1 round.");
            if (SoakImages < 1) return ValidationResult.Error("--soak-images must be at least 1.");
            if (Vocabulary is not null && !File.Exists(Vocabulary))
                return ValidationResult.Error($"--vocab: no vocabulary file at '{Vocabulary}' (CLIP's {ClipTokenizer.BpeGzFileName}).");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken ct)
    {
        TorchRuntime.EnsureLoaded();
        if (settings.Threads is int t) torch.set_num_threads(t);
        if (settings.Soak is int rounds) return SoakRun.Run(rounds, settings.SoakImages, Photo, ct);
        var batches = ParseList(settings.Batches);
        var shots = ParseList(settings.Shots);
        var table = new Table().AddColumns("case", "precision", "batch / shots", "result");
        AnsiConsole.MarkupLine($"libtorch threads: {torch.get_num_threads()}");

        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
            table.AddRow("matmul 2048x2048", dtype.ToString(), "-", $"{MatmulGflops(dtype, settings.Seconds, ct):F1} GFLOP/s");

        var config = ClipConfig.FromName(settings.Model);
        double vitFlops = VisionFlops(config.Vision, config.EmbedDim);
        var vocabulary = settings.Vocabulary ?? ClipPretrained.VocabularyCachePath();
        var tokenizer = File.Exists(vocabulary) ? ClipTokenizer.FromBpeGz(vocabulary) : null;
        string vitRate(double perSecond) => $"{perSecond:F2} images/s ({perSecond * vitFlops / 1e9:F1} GFLOP/s)";
        foreach (var precision in new[] { EncoderPrecision.Float32, EncoderPrecision.BFloat16 })
        {
            if (precision == EncoderPrecision.Float32 && tokenizer is not null)
            {
                ClipEngineRows(table, settings.Model, config, tokenizer, vitRate, batches, settings.Seconds, ct);
            }
            else
            {
                if (precision == EncoderPrecision.Float32)
                    AnsiConsole.MarkupLine($"[yellow]CLIP on ONNX Runtime and Auto skipped:[/] no vocabulary at '{Markup.Escape(vocabulary)}' (pass --vocab).");
                using var model = RandomClip(config, precision);
                var dtype = precision == EncoderPrecision.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32;
                foreach (var batch in batches)
                {
                    var (perSecond, peak) = BesideMatmul(model.EncodeImage, batch, config.Vision.ImageSize, dtype, settings.Seconds, ct);
                    table.AddRow($"{settings.Model} image encoder, TorchSharp", precision.ToString(), batch.ToString(),
                        $"{vitRate(perSecond)}: {100 * perSecond * vitFlops / 1e9 / peak:F0} % of the {dtype} matmul timed beside it ({peak:F0} GFLOP/s)");
                }
            }
            if (precision == EncoderPrecision.Float32)
            {
                ResNetEngineRows(table, batches, settings.Seconds, ct);
                continue;
            }
            using var resnet = ResNet18Encoder.LoadDefault(precision, EncoderEngine.TorchSharp);
            foreach (var batch in batches)
            {
                var perSecond = ImagesPerSecond(resnet.EncodeImage, batch, resnet.ImageSize, settings.Seconds, ct);
                table.AddRow("ResNet18 (ImageNet) encoder, TorchSharp", precision.ToString(), batch.ToString(), $"{perSecond:F2} images/s");
            }
        }

        if (shots.Length > 0)
        {
            using (var resnet = ResNet18Encoder.LoadDefault())
            {
                // The nearest-neighbour search in float32 and as the library runs it here (Auto), side by side.
                var searches = PatchMemory.Resolve(SearchPrecision.Auto) == SearchPrecision.Float32
                    ? new[] { SearchPrecision.Float32 }
                    : [SearchPrecision.Float32, SearchPrecision.BFloat16];
                foreach (var search in searches)
                {
                    PatchRows(table, resnet, "patchcore", new PatchCoreOptions { Search = search }, shots, ct);
                    PatchRows(table, resnet, "default", DefaultMethod.For(resnet, seed: 0) with { Search = search }, shots, ct);
                }
                FitRows(table, "ResNet18", resnet, shots, ct);
            }
            if (tokenizer is not null)
            {
                using var clip = new ClipEncoder(RandomClip(config, EncoderPrecision.Float32), tokenizer,
                    PreprocessConfig.Square(config.Vision.ImageSize), $"clip:{settings.Model}:random");
                AnsiConsole.MarkupLine($"{Markup.Escape(settings.Model)} fit engine {clip.Engine}: {Markup.Escape(clip.EngineReason)}");
                FitRows(table, settings.Model, clip, shots, ct);
            }
            else
            {
                AnsiConsole.MarkupLine($"[yellow]CLIP fit skipped:[/] no vocabulary at '{Markup.Escape(vocabulary)}' (pass --vocab).");
            }
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"{settings.Model} vision FLOP per image: {vitFlops / 1e9:F1} G; peak RSS: {PeakRssMegabytes():F0} MB");
        return ExitCodes.Success;
    }

    /// <summary>ResNet18's pooled features in float32 on TorchSharp, on ONNX Runtime and on Auto's choice, side by side (<see cref="EngineRows"/>).</summary>
    private static void ResNetEngineRows(Table table, int[] batches, double seconds, CancellationToken ct)
    {
        using var torchSharp = ResNet18Encoder.LoadDefault(EncoderPrecision.Float32, EncoderEngine.TorchSharp);
        using var onnxRuntime = ResNet18Encoder.LoadDefault(EncoderPrecision.Float32, EncoderEngine.OnnxRuntime);
        using var auto = ResNet18Encoder.LoadDefault(EncoderPrecision.Float32, EncoderEngine.Auto);
        AnsiConsole.MarkupLine($"ResNet18 engine {auto.Engine}: {Markup.Escape(auto.EngineReason)}");
        EngineRows(table, "ResNet18 (ImageNet) encoder", [torchSharp.EncodeImage, onnxRuntime.EncodeImage, auto.EncodeImage], auto.Engine,
            auto.ImageSize, rate => $"{rate:F2} images/s", batches, seconds, ct);
    }

    /// <summary>
    /// The CLIP image tower (random weights) in float32 on TorchSharp, on ONNX Runtime and on Auto's choice, and in int8 on
    /// ONNX Runtime, side by side (<see cref="EngineRows"/>): four copies of the same weights, one per case.
    /// </summary>
    private static void ClipEngineRows(Table table, string name, ClipConfig config, ClipTokenizer tokenizer, Func<double, string> rate,
        int[] batches, double seconds, CancellationToken ct)
    {
        ClipEncoder Create(EncoderEngine engine, bool int8 = false)
            => new(RandomClip(config, EncoderPrecision.Float32), tokenizer, PreprocessConfig.Square(config.Vision.ImageSize), $"clip:{name}:random", engine, int8);
        using var torchSharp = Create(EncoderEngine.TorchSharp);
        using var onnxRuntime = Create(EncoderEngine.OnnxRuntime);
        using var auto = Create(EncoderEngine.Auto);
        using var int8 = Create(EncoderEngine.OnnxRuntime, int8: true);
        AnsiConsole.MarkupLine($"{Markup.Escape(name)} engine {auto.Engine}: {Markup.Escape(auto.EngineReason)}");
        EngineRows(table, $"{name} image encoder", [torchSharp.EncodeImage, onnxRuntime.EncodeImage, auto.EncodeImage, int8.EncodeImage], auto.Engine,
            config.Vision.ImageSize, rate, batches, seconds, ct);
    }

    /// <summary>
    /// One network's frozen encoding in float32 on TorchSharp, ONNX Runtime and Auto, and optionally in int8 on ONNX
    /// Runtime (<paramref name="encoders"/>, in that order): each batch size is timed in <see cref="EngineRounds"/> rounds
    /// that take them in turn (so that load from elsewhere hits them alike), and each one's median rate is shown, Auto's
    /// and int8's as multiples of the faster float32 engine's.
    /// </summary>
    private static void EngineRows(Table table, string label, Func<Tensor, Tensor>[] encoders, EncoderEngine autoEngine, int size,
        Func<double, string> rate, int[] batches, double seconds, CancellationToken ct)
    {
        foreach (var batch in batches)
        {
            var rates = encoders.Select(_ => new double[EngineRounds]).ToArray();
            for (int round = 0; round < EngineRounds; round++)
                for (int e = 0; e < encoders.Length; e++)
                    rates[e][round] = ImagesPerSecond(encoders[e], batch, size, seconds / EngineRounds, ct);
            var medians = rates.Select(Median).ToArray();
            double faster = Math.Max(medians[0], medians[1]);
            table.AddRow($"{label}, TorchSharp", "Float32", batch.ToString(), rate(medians[0]));
            table.AddRow($"{label}, ONNX Runtime", "Float32", batch.ToString(), rate(medians[1]));
            table.AddRow($"{label}, Auto ({autoEngine})", "Float32", batch.ToString(), $"{rate(medians[2])} ({medians[2] / faster:F2}x the faster engine)");
            if (medians.Length > 3)
                table.AddRow($"{label}, ONNX Runtime", "Int8", batch.ToString(), $"{rate(medians[3])} ({medians[3] / faster:F2}x the faster fp32 engine)");
        }
    }

    private const int EngineRounds = 5;

    private static int[] ParseList(string csv)
        => csv.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();

    private static ClipModel RandomClip(ClipConfig config, EncoderPrecision precision)
    {
        var model = new ClipModel(config);
        using (no_grad())
        {
            var generator = new Generator(0);
            foreach (var (_, p) in model.named_parameters()) p.normal_(0, 0.02, generator);
        }
        return model.ToDtype(precision == EncoderPrecision.BFloat16 ? ScalarType.BFloat16 : ScalarType.Float32);
    }

    /// <summary>Fits CLIP-FSAC (the MVTec preset, 100 epochs per stage) on generated images and scores 16 more.</summary>
    private static void FitRows(Table table, string label, IImageEncoder encoder, int[] shots, CancellationToken ct)
    {
        var images = Enumerable.Range(0, 20).Select(Photo).ToList();
        try
        {
            foreach (var k in shots)
            {
                var sw = Stopwatch.StartNew();
                using var model = FsacClassifier.Fit(encoder, images.Take(k).ToList(), FsacPreset.MVTec,
                    AnomalySynthesizers.Create(FsacPreset.MVTec.SynthesisMethod), cancellationToken: ct);
                var fit = sw.Elapsed.TotalSeconds;
                var test = images.Skip(4).Take(16).ToList();
                model.Score(test, ct);
                sw.Restart();
                model.Score(test, ct);
                var perImage = sw.Elapsed.TotalMilliseconds / test.Count;
                table.AddRow($"CLIP-FSAC fit on {label} (fp32, encoding included)", "Float32", k.ToString(),
                    $"fit {fit:F1} s; scoring {perImage:F1} ms/image");
            }
        }
        finally
        {
            images.ForEach(i => i.Dispose());
        }
    }

    /// <summary>
    /// Fits a patch memory (encoding included) on generated images, then times scoring 16 more beyond encoding: the
    /// nearest-neighbour search and the image scores on patches encoded beforehand. Also reports the memory's size.
    /// </summary>
    private static void PatchRows(Table table, IImageEncoder encoder, string label, PatchCoreOptions options, int[] shots, CancellationToken ct)
    {
        var images = Enumerable.Range(0, 20).Select(Photo).ToList();
        var view = options.Resolution is { } r ? encoder.WithResolution(r) : encoder;
        try
        {
            var test = images.Skip(4).Take(16).ToList();
            using var patches = view.EncodePatches(test, 16, ct);
            foreach (var k in shots)
            {
                var sw = Stopwatch.StartNew();
                using var model = PatchCoreClassifier.Fit(encoder, images.Take(k).ToList(), options, cancellationToken: ct);
                var fit = sw.Elapsed.TotalSeconds;
                model.ScorePatches(patches);
                sw.Restart();
                const int repeats = 5;
                for (int i = 0; i < repeats; i++) model.ScorePatches(patches);
                var perImage = sw.Elapsed.TotalMilliseconds / (repeats * test.Count);
                var input = options.Resolution is { } side ? $"{side} px, aspect kept" : $"{encoder.ImageSize}x{encoder.ImageSize}";
                table.AddRow($"{label} ({input}) on ResNet18, fit incl. encoding", $"search {options.Search}", k.ToString(),
                    $"fit {fit:F2} s; scoring beyond encoding {perImage:F2} ms/image; memory {model.MemoryPatches} patches, {model.MemoryBytes / 1e6:F1} MB");
            }
        }
        finally
        {
            images.ForEach(i => i.Dispose());
        }
    }

    // A 480x360 textured "part" with a seeded pattern, so encoders and synthesis see realistic content.
    internal static Image<Rgb24> Photo(int seed)
    {
        var rng = new Random(seed);
        var image = new Image<Rgb24>(480, 360);
        image.ProcessPixelRows(rows =>
        {
            for (int y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                for (int x = 0; x < row.Length; x++)
                {
                    int v = 90 + (int)(60 * Math.Sin(x * 0.05 + seed) * Math.Cos(y * 0.04)) + rng.Next(20);
                    row[x] = new Rgb24((byte)v, (byte)(v * 0.9), (byte)(v * 0.7));
                }
            }
        });
        return image;
    }

    private static double MatmulGflops(ScalarType dtype, double seconds, CancellationToken ct)
    {
        const int n = 2048;
        using var a = randn(n, n, dtype: dtype);
        using var b = randn(n, n, dtype: dtype);
        using (a.matmul(b)) { }
        var sw = Stopwatch.StartNew();
        int iters = 0;
        while (sw.Elapsed.TotalSeconds < seconds / 2 && !ct.IsCancellationRequested)
        {
            using var c = a.matmul(b);
            iters++;
        }
        return 2.0 * n * n * n * iters / sw.Elapsed.TotalSeconds / 1e9;
    }

    /// <summary>
    /// An encoder's images/s and the matmul's GFLOP/s in <paramref name="dtype"/>, timed in <see cref="EngineRounds"/>
    /// rounds that alternate the two, so that the ratio is not skewed by load or clock changes between them; medians.
    /// </summary>
    private static (double ImagesPerSecond, double MatmulGflops) BesideMatmul(Func<Tensor, Tensor> encode, int batch, int size, ScalarType dtype,
        double seconds, CancellationToken ct)
    {
        var rates = new double[EngineRounds];
        var peaks = new double[EngineRounds];
        for (int round = 0; round < EngineRounds; round++)
        {
            peaks[round] = MatmulGflops(dtype, seconds / EngineRounds, ct);
            rates[round] = ImagesPerSecond(encode, batch, size, seconds / EngineRounds, ct);
        }
        return (Median(rates), Median(peaks));
    }

    private static double Median(double[] rounds) => rounds.Order().ElementAt(rounds.Length / 2);

    private static double ImagesPerSecond(Func<Tensor, Tensor> encode, int batch, int size, double seconds, CancellationToken ct)
    {
        using var _ = no_grad();
        using var pixels = randn(batch, 3, size, size);
        using (encode(pixels)) { }
        var sw = Stopwatch.StartNew();
        int images = 0;
        while (sw.Elapsed.TotalSeconds < seconds && !ct.IsCancellationRequested)
        {
            using var f = encode(pixels);
            images += batch;
        }
        return images / sw.Elapsed.TotalSeconds;
    }

    /// <summary>Multiply-adds x2 of the vision tower: patch conv, attention and MLP matmuls, projection.</summary>
    private static double VisionFlops(ClipVisionConfig v, int embedDim)
    {
        double tokens = v.GridSize * v.GridSize + 1, w = v.Width, hidden = v.Width * v.MlpRatio;
        double patch = 2.0 * v.GridSize * v.GridSize * w * 3 * v.PatchSize * v.PatchSize;
        double perLayer = 2.0 * tokens * (w * 3 * w + w * w + 2 * w * hidden) + 2.0 * 2 * tokens * tokens * w;
        return patch + v.Layers * perLayer + 2.0 * w * embedDim;
    }

    internal static double PeakRssMegabytes() => ProcessStatusMegabytes("VmHWM:");

    /// <summary>A memory figure of this process from <c>/proc/self/status</c> (e.g. <c>VmRSS:</c>), in MB; NaN elsewhere.</summary>
    internal static double ProcessStatusMegabytes(string field)
    {
        if (!File.Exists("/proc/self/status")) return double.NaN;
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return double.Parse(line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) / 1024;
        return double.NaN;
    }
}
