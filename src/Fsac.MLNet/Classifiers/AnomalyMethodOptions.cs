using Fsac.MLNet.Encoders;
using Fsac.MLNet.Fitting;
using Fsac.MLNet.Head;
using Fsac.MLNet.PatchCore;

namespace Fsac.MLNet.Classifiers;

/// <summary>Which method <see cref="FewShotAnomalyClassifier.Fit(Encoders.BackboneReference, IReadOnlyList{SixLabors.ImageSharp.Image{SixLabors.ImageSharp.PixelFormats.Rgb24}}, AnomalyMethodOptions?, IProgress{Fsac.MLNet.Fitting.TrainingProgress}?, CancellationToken)"/> fits, and its settings.</summary>
public sealed record AnomalyMethodOptions
{
    /// <summary>The method; <see cref="AnomalyMethod.Default"/> unless named.</summary>
    public AnomalyMethod Method { get; init; } = AnomalyMethod.Default;

    /// <summary>Settings of <see cref="AnomalyMethod.Fsac"/> (the paper's, <see cref="FsacPreset.MVTec"/>, by default); also the prompt's class name.</summary>
    public FsacOptions Fsac { get; init; } = FsacPreset.MVTec;

    /// <summary>Settings of <see cref="AnomalyMethod.WinClipPlus"/>; its class name is <see cref="Fsac"/>'s.</summary>
    public WinClipOptions WinClip { get; init; } = new();

    /// <summary>Settings of <see cref="AnomalyMethod.PatchCore"/> (PatchCore's own by default).</summary>
    public PatchCoreOptions PatchCore { get; init; } = new();

    /// <summary>Seed of everything random in the fit, whichever method it is.</summary>
    public int Seed { get; init; }

    /// <summary>Images encoded together, whichever method it is.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>The method's name as the CLI and the results spell it: <c>default</c>, <c>patchcore</c>, <c>fsac</c>, <c>fsac-local</c>, <c>fsac+patchcore</c> or <c>winclip+</c>.</summary>
    public string MethodName => NameOf(Method);

    /// <summary>The name of <paramref name="method"/>.</summary>
    public static string NameOf(AnomalyMethod method) => method switch
    {
        AnomalyMethod.Default => "default",
        AnomalyMethod.PatchCore => "patchcore",
        AnomalyMethod.Fsac => "fsac",
        AnomalyMethod.FsacLocal => "fsac-local",
        AnomalyMethod.FsacPatchCore => "fsac+patchcore",
        AnomalyMethod.WinClipPlus => "winclip+",
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "unknown method"),
    };

    /// <summary>Parses a method name (<see cref="MethodName"/>), case-insensitive.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the valid ones.</exception>
    public static AnomalyMethod Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var method in Enum.GetValues<AnomalyMethod>())
            if (NameOf(method).Equals(name.Trim(), StringComparison.OrdinalIgnoreCase)) return method;
        throw new ArgumentException($"Unknown method '{name}'; valid methods: {string.Join(", ", Enum.GetValues<AnomalyMethod>().Select(NameOf))}.", nameof(name));
    }

    /// <summary>Checks that every value is usable.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(Method)) throw new ArgumentOutOfRangeException(nameof(Method), Method, "unknown method");
        ArgumentNullException.ThrowIfNull(Fsac, nameof(Fsac));
        ArgumentNullException.ThrowIfNull(PatchCore, nameof(PatchCore));
        ArgumentNullException.ThrowIfNull(WinClip, nameof(WinClip));
        WinClip.Validate();
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, nameof(BatchSize));
        Fsac.Validate();
        PatchCore.Validate();
    }
}
