using Fsac.MLNet.Synthesis;
using BenchmarkDotNet.Attributes;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Benchmarks;

/// <summary>
/// One synthetic anomaly of a 900x900 colour image per call (single-threaded code). The random source carries on
/// from call to call, so the figures are over the methods' size distributions, not one fixed draw.
/// Targets (issue 3): NSA median at most 100 ms, random perturbation at most 5 ms.
/// Run: dotnet run -c Release --project tests/Fsac.MLNet.Benchmarks -- --filter '*Synthesis*' --job short
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
public class SynthesisBenchmarks
{
    private const int Size = 900;
    private readonly IAnomalySynthesizer _gaussian = AnomalySynthesizers.Create("gaussian");
    private readonly IAnomalySynthesizer _uniform = AnomalySynthesizers.Create("uniform");
    private readonly IAnomalySynthesizer _nsa = AnomalySynthesizers.Create("nsa");
    private readonly IAnomalySynthesizer _cutPaste = AnomalySynthesizers.Create("cutpaste");

    // The worst case of the default distribution: patches of about 0.4 x 0.4 of the image (360 x 360 pixels).
    private readonly IAnomalySynthesizer _nsaLargest = new NsaSynthesizer(new NsaOptions
    {
        MinSizeFraction = 0.39, MaxSizeFraction = 0.4, GammaLocation = 0.39, GammaScale = 0.005,
    });
    private Image<Rgb24> _image = null!;
    private Random _rng = null!;

    [GlobalSetup]
    public void Setup()
    {
        var noise = new Random(1);
        var data = new byte[3 * Size * Size];
        for (int y = 0; y < Size; y++)
            for (int x = 0; x < Size; x++)
            {
                int k = 3 * (y * Size + x);
                double ripple = 40 * Math.Sin(x * 0.05) * Math.Cos(y * 0.07);
                data[k] = (byte)Math.Clamp(60 + x / 6.0 + ripple + noise.Next(-12, 13), 0, 255);
                data[k + 1] = (byte)Math.Clamp(70 + y / 7.0 - ripple + noise.Next(-12, 13), 0, 255);
                data[k + 2] = (byte)Math.Clamp(128 + ripple + noise.Next(-12, 13), 0, 255);
            }
        _image = Image.LoadPixelData<Rgb24>(data, Size, Size);
        _rng = new Random(42);
    }

    [GlobalCleanup]
    public void Cleanup() => _image.Dispose();

    [Benchmark]
    public int Nsa() => Run(_nsa);

    [Benchmark]
    public int NsaLargestPatches() => Run(_nsaLargest);

    [Benchmark]
    public int Gaussian() => Run(_gaussian);

    [Benchmark]
    public int Uniform() => Run(_uniform);

    [Benchmark]
    public int CutPaste() => Run(_cutPaste);

    private int Run(IAnomalySynthesizer synthesizer)
    {
        using var anomaly = synthesizer.Synthesize(_image, _rng);
        return anomaly.Regions.Count;
    }
}
