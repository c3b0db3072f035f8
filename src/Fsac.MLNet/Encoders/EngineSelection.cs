using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.Encoders.ResNet;
using Fsac.MLNet.Files;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using TorchSharp;

namespace Fsac.MLNet.Encoders;

/// <summary>
/// Turns a requested <see cref="EncoderEngine"/> into the engine a frozen network's passes run on (ResNet18, or a CLIP
/// image tower), with the reason. <see cref="EncoderEngine.Auto"/> times both engines on one image (224x224 for
/// ResNet18, the tower's input size for CLIP; a warm-up pass each, then up to
/// <see cref="Rounds"/> alternating passes, none started after <see cref="Budget"/>, the median of each) and takes ONNX
/// Runtime when it is at least 5% faster, so that a near tie keeps the reference engine. The result is kept per machine in
/// <see cref="CacheFileName"/> under the download cache (<see cref="ClipDownloader.CacheRoot"/>), keyed by the network, the CPU
/// (model name and a hash of its flags, from <c>/proc/cpuinfo</c>), the TorchSharp and ONNX Runtime versions and the
/// thread count, and in the process. A measurement taken while the machine is busy (a 1-minute load average above its
/// core count, from <c>/proc/loadavg</c>) is used but not cached: load slows the engines unequally (libtorch's threads
/// wait on each other), and the file should hold what the machine itself does. Auto never fails in float32: where ONNX
/// Runtime is missing, fails or cannot run the encoder, it picks TorchSharp and says why. Int8 runs on ONNX Runtime only,
/// so Auto takes it there without measuring.
/// </summary>
internal static class EngineSelection
{
    /// <summary>The cache file's name under the cache root.</summary>
    public const string CacheFileName = "encoder-engines.json";

    /// <summary>Timed passes per engine after the warm-up.</summary>
    public const int Rounds = 5;

    /// <summary>Time after the warm-up past which no further round starts (at least one runs): a busy machine stays cheap to measure on.</summary>
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(1);

    /// <summary>How much faster ONNX Runtime must be for Auto to take it: its median below this share of TorchSharp's.</summary>
    public const double Margin = 0.95;

    private const long MaxCacheBytes = 1 << 20;
    private const int Side = 224;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
    };

    private static readonly ConcurrentDictionary<(string File, string Key), Measurement> Known = new();
    private static readonly Lock CacheLock = new();

    /// <summary>
    /// The engine for a ResNet encoder of <paramref name="precision"/> on <paramref name="backbone"/>, why, and the ONNX
    /// Runtime runner when that is the engine (the caller owns it).
    /// </summary>
    /// <param name="requested">The engine asked for.</param>
    /// <param name="precision">The encoder's precision; ONNX Runtime runs float32 only.</param>
    /// <param name="backbone">The network, borrowed by the runner.</param>
    /// <param name="cacheDir">The cache root; null: <see cref="ClipDownloader.CacheRoot"/>.</param>
    /// <param name="createRuntime">Starts ONNX Runtime on the network; null: <see cref="OnnxRuntimeResNet.Create"/>.</param>
    /// <param name="loadAverage">The machine's 1-minute load average, null where unknown; null: read from <c>/proc/loadavg</c>.</param>
    /// <exception cref="NotSupportedException">
    /// ONNX Runtime was asked for and cannot run this encoder (bfloat16, or it is missing), or int8 was asked for (not
    /// offered for ResNet18: <see cref="ResNetInt8Refused"/>); the message says why.
    /// </exception>
    public static (EncoderEngine Engine, string Reason, OnnxRuntimeResNet? Runtime) Choose(EncoderEngine requested, EncoderPrecision precision,
        ResNetBackbone backbone, string? cacheDir = null, Func<ResNetBackbone, OnnxRuntimeResNet>? createRuntime = null,
        Func<double?>? loadAverage = null)
    {
        if (precision == EncoderPrecision.Int8) throw new NotSupportedException(ResNetInt8Refused);
        createRuntime ??= OnnxRuntimeResNet.Create;
        var network = new Network<OnnxRuntimeResNet>(ResNetName, [1, 3, Side, Side], () => createRuntime(backbone),
            pixels => backbone.Features(pixels, pooled: true, patches: true), (runtime, pixels) => runtime.Encode(pixels, EncoderOutputs.Both));
        return Choose(requested, precision, network, cacheDir, loadAverage);
    }

    /// <summary>
    /// The engine for the image tower of a CLIP encoder of <paramref name="precision"/> on <paramref name="model"/>, why,
    /// and the ONNX Runtime runner when that is the engine (the caller owns it). Auto times one image at the tower's
    /// input size.
    /// </summary>
    /// <param name="requested">The engine asked for.</param>
    /// <param name="precision">The encoder's precision: float32 on either engine, bfloat16 on TorchSharp, int8 (the graph quantized) on ONNX Runtime.</param>
    /// <param name="model">The CLIP model whose image tower is run, borrowed by the runner.</param>
    /// <param name="cacheDir">The cache root; null: <see cref="ClipDownloader.CacheRoot"/>.</param>
    /// <param name="createRuntime">Starts ONNX Runtime on the tower; null: <see cref="OnnxRuntimeClip.Create"/> in <paramref name="precision"/>.</param>
    /// <param name="loadAverage">The machine's 1-minute load average, null where unknown; null: read from <c>/proc/loadavg</c>.</param>
    /// <exception cref="NotSupportedException">
    /// ONNX Runtime was asked for and cannot run this tower (bfloat16, too large, or it is missing), or int8 was asked for
    /// on TorchSharp or where ONNX Runtime cannot run; the message says why.
    /// </exception>
    public static (EncoderEngine Engine, string Reason, OnnxRuntimeClip? Runtime) Choose(EncoderEngine requested, EncoderPrecision precision,
        ClipModel model, string? cacheDir = null, Func<ClipModel, OnnxRuntimeClip>? createRuntime = null, Func<double?>? loadAverage = null)
    {
        createRuntime ??= m => OnnxRuntimeClip.Create(m, precision);
        var size = model.Config.Vision.ImageSize;
        var network = new Network<OnnxRuntimeClip>(ClipName(model.Config.Vision), [1, 3, size, size], () => createRuntime(model),
            pixels => model.visual.Tokens(pixels, pooled: true, patches: true, projectPatches: true),
            (runtime, pixels) => runtime.Encode(pixels, EncoderOutputs.Both));
        return Choose(requested, precision, network, cacheDir, loadAverage);
    }

    /// <summary>
    /// Why ResNet18 refuses <see cref="EncoderPrecision.Int8"/>: it missed the bar for offering int8 (cosine to float32
    /// 0.99 or more and within 0.5 I-AUROC points on the development categories).
    /// </summary>
    public const string ResNetInt8Refused =
        "EncoderPrecision.Int8 (--dtype int8) is not offered for ResNet18: quantized on ONNX Runtime it cost the default method up to 1.8 " +
        "I-AUROC points on the development categories (deeppcb group12300, 4 shots) and ran at 0.55 to 0.75 times float32's speed; " +
        "use Float32 (or BFloat16). Int8 is offered for CLIP image towers.";

    /// <summary>How the cache key names ResNet18's network.</summary>
    public const string ResNetName = "ResNet18";

    /// <summary>How the cache key names a CLIP image tower: its shape, which is what its speed depends on.</summary>
    public static string ClipName(ClipVisionConfig vision)
        => string.Create(CultureInfo.InvariantCulture,
            $"CLIP ViT (width {vision.Width}, {vision.Layers} blocks, patch {vision.PatchSize}, {vision.ImageSize} px)");

    private static (EncoderEngine, string, TRuntime?) Choose<TRuntime>(EncoderEngine requested, EncoderPrecision precision,
        Network<TRuntime> network, string? cacheDir, Func<double?>? loadAverage) where TRuntime : class, IDisposable
    {
        switch (requested)
        {
            case EncoderEngine.TorchSharp:
                if (precision == EncoderPrecision.Int8)
                    throw new NotSupportedException("EncoderPrecision.Int8 (--dtype int8) runs on ONNX Runtime only; use EncoderEngine.OnnxRuntime or Auto (--engine onnxruntime or auto).");
                return (EncoderEngine.TorchSharp, "TorchSharp, as asked for", null);
            case EncoderEngine.OnnxRuntime:
                if (precision == EncoderPrecision.BFloat16)
                    throw new NotSupportedException($"The ONNX Runtime engine runs float32 and int8; EncoderPrecision.{precision} runs on EncoderEngine.TorchSharp (or Auto).");
                return (EncoderEngine.OnnxRuntime, "ONNX Runtime, as asked for", StartOnnxRuntime(network, precision));
            case EncoderEngine.Auto when precision == EncoderPrecision.Int8:
                return (EncoderEngine.OnnxRuntime, "Auto: ONNX Runtime, since int8 runs there only", StartOnnxRuntime(network, precision));
            case EncoderEngine.Auto:
                return ChooseAuto(precision, network, cacheDir ?? ClipDownloader.CacheRoot(), loadAverage ?? LoadAverage);
            default:
                throw new ArgumentOutOfRangeException(nameof(requested), requested, "Unknown encoder engine.");
        }
    }

    /// <summary>The machine part of the cache key: the CPU's model name and a hash of its flags, or the architecture where there is no <c>/proc/cpuinfo</c>.</summary>
    public static string CpuDescription(string? cpuinfo)
    {
        if (cpuinfo is null) return $"unknown {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture} CPU";
        string Field(string name) => cpuinfo.Split('\n').Where(l => l.StartsWith(name, StringComparison.Ordinal) && l.Contains(':'))
            .Select(l => l[(l.IndexOf(':') + 1)..].Trim()).FirstOrDefault() ?? "";
        var flags = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Field("flags"))))[..8];
        var model = Field("model name");
        return $"{(model.Length > 0 ? model : "unknown CPU")} (flags {flags})";
    }

    // ONNX Runtime where it was asked for or is the only engine: unavailable is an error, which names what to use instead.
    private static TRuntime StartOnnxRuntime<TRuntime>(Network<TRuntime> network, EncoderPrecision precision) where TRuntime : class, IDisposable
    {
        try
        {
            return network.CreateRuntime();
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            throw new NotSupportedException(precision == EncoderPrecision.Int8
                ? $"The ONNX Runtime engine is unavailable here ({Describe(e)}), and int8 runs on it only; use float32 or bfloat16 (EncoderEngine.TorchSharp or Auto)."
                : $"The ONNX Runtime engine is unavailable here ({Describe(e)}); use EncoderEngine.TorchSharp or Auto.", e);
        }
    }

    private static (EncoderEngine, string, TRuntime?) ChooseAuto<TRuntime>(EncoderPrecision precision, Network<TRuntime> network, string cacheDir,
        Func<double?> loadAverage) where TRuntime : class, IDisposable
    {
        if (precision != EncoderPrecision.Float32)
            return (EncoderEngine.TorchSharp, $"Auto: TorchSharp, since ONNX Runtime runs float32 and int8 and this encoder computes in {precision}", null);
        TRuntime runtime;
        try
        {
            runtime = network.CreateRuntime();
        }
        catch (NotSupportedException e)
        {
            return (EncoderEngine.TorchSharp, $"Auto: TorchSharp, since ONNX Runtime cannot run this network ({e.Message})", null);
        }
        catch (Exception e) when (IsUnavailable(e))
        {
            return (EncoderEngine.TorchSharp, $"Auto: TorchSharp, since ONNX Runtime is unavailable here ({Describe(e)})", null);
        }
        try
        {
            var file = Path.Combine(cacheDir, CacheFileName);
            var key = Key(network.Name);
            string origin;
            if (Known.TryGetValue((file, key), out var measurement)) origin = "measured earlier in this process";
            else if (Read(file).TryGetValue(key, out var cached) && cached.TorchSharpMs > 0 && cached.OnnxRuntimeMs > 0)
            {
                measurement = cached;
                origin = $"measured {cached.Measured.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}, cached in {file}";
            }
            else
            {
                var watch = Stopwatch.StartNew();
                measurement = Measure(network, runtime);
                var now = string.Create(CultureInfo.InvariantCulture, $"measured now in {watch.Elapsed.TotalSeconds:F1} s");
                int cores = Environment.ProcessorCount;
                if (loadAverage() is { } load && load > cores)
                    origin = string.Create(CultureInfo.InvariantCulture, $"{now}, not cached: the machine was busy, load {load:F1} on {cores} cores");
                else
                    origin = Write(file, key, measurement) is { } problem ? $"{now}, not cached: {problem}" : $"{now}, cached in {file}";
            }
            Known[(file, key)] = measurement;
            var engine = measurement.Engine;
            var reason = string.Create(CultureInfo.InvariantCulture,
                $"Auto: {(engine == EncoderEngine.OnnxRuntime ? "ONNX Runtime" : "TorchSharp")}, since ONNX Runtime took {measurement.OnnxRuntimeMs:F1} ms " +
                $"and TorchSharp {measurement.TorchSharpMs:F1} ms per {string.Join("x", network.TestInput.Skip(2))} image on {key} ({origin})");
            if (engine == EncoderEngine.OnnxRuntime) return (engine, reason, runtime);
            runtime.Dispose();
            return (engine, reason, null);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            runtime.Dispose();
            return (EncoderEngine.TorchSharp, $"Auto: TorchSharp, since ONNX Runtime failed on a test image ({Describe(e)})", null);
        }
    }

    // Warm-up, then alternating timed passes (so that load from elsewhere hits both alike), medians.
    private static Measurement Measure<TRuntime>(Network<TRuntime> network, TRuntime runtime) where TRuntime : class, IDisposable
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var pixels = torch.randn(network.TestInput, generator: new torch.Generator(0)).mul_(60);
        double TorchSharp()
        {
            var watch = Stopwatch.StartNew();
            using var inner = torch.NewDisposeScope();
            network.TorchSharpPass(pixels);
            return watch.Elapsed.TotalMilliseconds;
        }
        double OnnxRuntime()
        {
            var watch = Stopwatch.StartNew();
            using var inner = torch.NewDisposeScope();
            network.OnnxRuntimePass(runtime, pixels);
            return watch.Elapsed.TotalMilliseconds;
        }
        TorchSharp();
        OnnxRuntime();
        var torchSharp = new List<double>(Rounds);
        var onnxRuntime = new List<double>(Rounds);
        var timed = Stopwatch.StartNew();
        while (torchSharp.Count < Rounds && (torchSharp.Count == 0 || timed.Elapsed < Budget))
        {
            torchSharp.Add(TorchSharp());
            onnxRuntime.Add(OnnxRuntime());
        }
        double ts = Median(torchSharp), ort = Median(onnxRuntime);
        var engine = ort < Margin * ts ? EncoderEngine.OnnxRuntime : EncoderEngine.TorchSharp;
        return new Measurement(engine, Math.Round(ts, 2), Math.Round(ort, 2), DateTimeOffset.UtcNow);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>
    /// The cache key of <paramref name="network"/> (<see cref="ResNetName"/>, <see cref="ClipName"/>) on this machine and
    /// process: the network, the CPU, the TorchSharp and ONNX Runtime versions, libtorch's thread count.
    /// </summary>
    public static string Key(string network)
    {
        string? cpuinfo = null;
        try
        {
            if (OperatingSystem.IsLinux()) cpuinfo = File.ReadAllText("/proc/cpuinfo");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        var torchSharp = typeof(torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
                         ?? typeof(torch).Assembly.GetName().Version?.ToString() ?? "?";
        return $"{network} on {CpuDescription(cpuinfo)}, TorchSharp {torchSharp}, ONNX Runtime {Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetVersionString()}, {torch.get_num_threads()} thread(s)";
    }

    // The 1-minute load average (Linux), else null.
    private static double? LoadAverage()
    {
        try
        {
            return OperatingSystem.IsLinux() && double.TryParse(File.ReadAllText("/proc/loadavg").Split(' ')[0], NumberStyles.Float,
                CultureInfo.InvariantCulture, out var load) ? load : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // The cached measurements; a missing, unreadable or corrupt file holds none.
    private static Dictionary<string, Measurement> Read(string file)
    {
        try
        {
            var info = new FileInfo(file);
            if (!info.Exists || info.Length > MaxCacheBytes) return [];
            return JsonSerializer.Deserialize<Dictionary<string, Measurement>>(File.ReadAllBytes(file), Json) ?? [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
        {
            return [];
        }
    }

    // Adds one measurement to the file (atomically, the others kept); the problem when it cannot be written, else null.
    private static string? Write(string file, string key, Measurement measurement)
    {
        try
        {
            lock (CacheLock)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                var entries = Read(file);
                entries[key] = measurement;
                AtomicFile.Write(file, stream => JsonSerializer.Serialize(stream, entries, Json));
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }

    // What a missing or broken native ONNX Runtime throws.
    private static bool IsUnavailable(Exception e)
        => e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException or TypeInitializationException
            or Microsoft.ML.OnnxRuntime.OnnxRuntimeException;

    private static string Describe(Exception e)
    {
        var root = e is TypeInitializationException { InnerException: { } inner } ? inner : e;
        return $"{root.GetType().Name}: {root.Message}";
    }

    /// <summary>
    /// What Auto needs of a frozen network: its name in the cache key, the shape of its timing input, how to start it
    /// on ONNX Runtime, and one frozen pass on each engine.
    /// </summary>
    private sealed record Network<TRuntime>(string Name, long[] TestInput, Func<TRuntime> CreateRuntime, Action<torch.Tensor> TorchSharpPass,
        Action<TRuntime, torch.Tensor> OnnxRuntimePass) where TRuntime : class, IDisposable;

    /// <summary>One machine's timings: the engine they pick, each engine's median milliseconds per image, and when.</summary>
    private sealed record Measurement(EncoderEngine Engine, double TorchSharpMs, double OnnxRuntimeMs, DateTimeOffset Measured);
}
