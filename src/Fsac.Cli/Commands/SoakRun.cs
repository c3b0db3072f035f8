using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using System.Diagnostics;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using Spectre.Console;

namespace Fsac.Cli.Commands;

/// <summary>
/// <c>fsac bench --soak</c>: what a long-running service does, in one process. Each round fits the default method on
/// 4 generated images (other images every round), scores images with anomaly maps, and disposes the model; the
/// resident memory is printed after every round, and at the end compared with its value after round 5.
/// </summary>
internal static class SoakRun
{
    private const int Shots = 4;
    private const int Distinct = 50;
    private const int Batch = 16;
    private const int SettledRound = 5;

    public static int Run(int rounds, int imagesPerRound, Func<int, Image<Rgb24>> photo, CancellationToken ct)
    {
        var pool = Enumerable.Range(1000, Distinct).Select(photo).ToList();
        try
        {
            using var encoder = ResNet18Encoder.LoadDefault();
            double settled = double.NaN;
            var total = Stopwatch.StartNew();
            long scored = 0;
            for (int round = 1; round <= rounds && !ct.IsCancellationRequested; round++)
            {
                var sw = Stopwatch.StartNew();
                var shots = Enumerable.Range(round * Shots, Shots).Select(photo).ToList();
                try
                {
                    using var model = DefaultMethod.Fit(encoder, shots, seed: round, ct);
                    var fit = sw.Elapsed.TotalSeconds;
                    for (int done = 0; done < imagesPerRound; done += Batch)
                    {
                        var batch = Enumerable.Range(done, Math.Min(Batch, imagesPerRound - done)).Select(i => pool[i % Distinct]).ToList();
                        model.ScoreWithMaps(batch, withMaps: true, ct);
                        scored += batch.Count;
                    }
                    double rss = BenchCommand.ProcessStatusMegabytes("VmRSS:");
                    if (round == SettledRound) settled = rss;
                    AnsiConsole.WriteLine($"round {round}: fit {fit:F2} s, {imagesPerRound} images scored in {sw.Elapsed.TotalSeconds - fit:F2} s, RSS {rss:F0} MB " +
                        $"(managed heap {GC.GetGCMemoryInfo().HeapSizeBytes / (double)(1 << 20):F0} MB, {GC.CollectionCount(2)} full collections)");
                }
                finally
                {
                    shots.ForEach(s => s.Dispose());
                }
            }
            double final = BenchCommand.ProcessStatusMegabytes("VmRSS:");
            AnsiConsole.WriteLine($"{rounds} fits and {scored} scored images in {total.Elapsed.TotalSeconds:F0} s; RSS {final:F0} MB, peak {BenchCommand.PeakRssMegabytes():F0} MB" +
                (double.IsNaN(settled) ? "" : $"; after round {SettledRound}: {settled:F0} MB ({(final / settled - 1) * 100:+0.0;-0.0} %)"));
            return ExitCodes.Success;
        }
        finally
        {
            pool.ForEach(p => p.Dispose());
        }
    }
}
