using System.ComponentModel;
using System.Diagnostics;
using Fsac.MLNet;
using Fsac.MLNet.Clip;
using Spectre.Console;
using Spectre.Console.Cli;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.Cli.Commands;

/// <summary>
/// <c>fsac bench</c>: throughput of the encoders beside the machine's matmul peak, measured in the same run,
/// and the process's peak resident memory. Weights are random: speed does not depend on their values.
/// </summary>
public sealed class BenchCommand : Command<BenchCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--model <NAME>")]
        [Description("CLIP architecture to time (default ViT-B-16-plus-240).")]
        public string Model { get; init; } = "ViT-B-16-plus-240";

        [CommandOption("--batch <SIZES>")]
        [Description("Comma-separated batch sizes (default 1,8).")]
        public string Batches { get; init; } = "1,8";

        [CommandOption("--threads <N>")]
        [Description("libtorch intra-op threads (default: all cores).")]
        public int? Threads { get; init; }

        [CommandOption("--seconds <S>")]
        [Description("Minimum measuring time per case (default 5).")]
        public double Seconds { get; init; } = 5;
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken ct)
    {
        if (settings.Threads is int t) torch.set_num_threads(t);
        var batches = settings.Batches.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
        var table = new Table().AddColumns("case", "dtype", "batch", "result");
        AnsiConsole.MarkupLine($"threads: {torch.get_num_threads()}, model: {settings.Model}");

        foreach (var dtype in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            var gflops = MatmulGflops(dtype, settings.Seconds, ct);
            table.AddRow("matmul 2048x2048", dtype.ToString(), "-", $"{gflops:F1} GFLOP/s");
        }

        var config = ClipConfig.FromName(settings.Model);
        double flopsPerImage = VisionFlops(config.Vision, config.EmbedDim);
        foreach (var precision in new[] { EncoderPrecision.Float32, EncoderPrecision.BFloat16 })
        {
            using var model = new ClipModel(config);
            Randomize(model);
            model.ToPrecision(precision);
            foreach (var batch in batches)
            {
                var perSecond = ImagesPerSecond(model, batch, config.Vision.ImageSize, settings.Seconds, ct);
                table.AddRow($"{settings.Model} image encoder", precision.ToString(), batch.ToString(),
                    $"{perSecond:F2} images/s ({perSecond * flopsPerImage / 1e9:F1} GFLOP/s)");
            }
        }
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"vision FLOP per image: {flopsPerImage / 1e9:F1} G; peak RSS: {PeakRssMegabytes():F0} MB");
        return ExitCodes.Success;
    }

    private static void Randomize(ClipModel model)
    {
        using var _ = no_grad();
        torch.manual_seed(0);
        foreach (var (_, p) in model.named_parameters()) p.normal_(0, 0.02);
    }

    private static double MatmulGflops(ScalarType dtype, double seconds, CancellationToken ct)
    {
        const int n = 2048;
        using var a = randn(n, n).to_type(dtype);
        using var b = randn(n, n).to_type(dtype);
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

    private static double ImagesPerSecond(ClipModel model, int batch, int size, double seconds, CancellationToken ct)
    {
        using var _ = no_grad();
        using var pixels = randn(batch, 3, size, size);
        using (model.EncodeImage(pixels)) { }
        var sw = Stopwatch.StartNew();
        int images = 0;
        while (sw.Elapsed.TotalSeconds < seconds && !ct.IsCancellationRequested)
        {
            using var f = model.EncodeImage(pixels);
            images += batch;
        }
        return images / sw.Elapsed.TotalSeconds;
    }

    /// <summary>Multiply-adds x2 of the vision tower: patch conv, attention and MLP matmuls, projection.</summary>
    internal static double VisionFlops(ClipVisionConfig v, int embedDim)
    {
        double tokens = v.GridSize * v.GridSize + 1, w = v.Width, hidden = v.Width * v.MlpRatio;
        double patch = 2.0 * v.GridSize * v.GridSize * w * 3 * v.PatchSize * v.PatchSize;
        double perLayer = 2.0 * tokens * (w * 3 * w + w * w + 2 * w * hidden) + 2.0 * 2 * tokens * tokens * w;
        return patch + v.Layers * perLayer + 2.0 * w * embedDim;
    }

    internal static double PeakRssMegabytes()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
        return double.NaN;
    }
}
