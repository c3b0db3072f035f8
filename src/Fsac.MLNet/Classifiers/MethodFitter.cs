using Fsac.MLNet.Encoders;
using Fsac.MLNet.Fitting;
using Fsac.MLNet.Head;
using Fsac.MLNet.PatchCore;
using Fsac.MLNet.Synthesis;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Classifiers;

/// <summary>
/// Fits the method that <see cref="AnomalyMethodOptions.Method"/> names on an encoder it is given: the fitting side
/// of <see cref="FewShotAnomalyClassifier"/>. The method's options receive the one seed and batch size of
/// <see cref="AnomalyMethodOptions"/>.
/// </summary>
internal static class MethodFitter
{
    /// <summary>
    /// Fits on <paramref name="encoder"/>. With <paramref name="owner"/> (the reference the encoder was created from)
    /// the fitted model owns the encoder from construction and records the reference; without, it borrows the encoder.
    /// The caller disposes an owned encoder when this throws.
    /// </summary>
    public static IAnomalyClassifier Fit(IImageEncoder encoder, BackboneReference? owner, IReadOnlyList<Image<Rgb24>> normals,
        AnomalyMethodOptions options, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken) => options.Method switch
    {
        AnomalyMethod.Fsac => FitFsac(encoder, owner, normals, options, progress, cancellationToken),
        AnomalyMethod.FsacLocal or AnomalyMethod.FsacPatchCore => FitFusion(encoder, owner, normals, options, progress, cancellationToken),
        AnomalyMethod.WinClipPlus => WinClipClassifier.Fit(encoder, owner, normals, WinClipOptionsOf(options), cancellationToken),
        AnomalyMethod.PatchCore => PatchCoreClassifier.Fit(encoder, owner, normals, PatchCoreOptionsOf(options), cancellationToken),
        _ => FitDefault(encoder, owner, normals, options, cancellationToken),
    };

    private static FsacOptions FsacOptionsOf(AnomalyMethodOptions options) => options.Fsac with { Seed = options.Seed, InferenceBatchSize = options.BatchSize };

    private static PatchCoreOptions PatchCoreOptionsOf(AnomalyMethodOptions options) => options.PatchCore with { Seed = options.Seed, InferenceBatchSize = options.BatchSize };

    private static WinClipOptions WinClipOptionsOf(AnomalyMethodOptions options)
        => options.WinClip with { ClassName = options.Fsac.ClassName, Seed = options.Seed, InferenceBatchSize = options.BatchSize };

    private static FsacClassifier FitFsac(IImageEncoder encoder, BackboneReference? owner, IReadOnlyList<Image<Rgb24>> normals,
        AnomalyMethodOptions options, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var fsac = FsacOptionsOf(options);
        var synthesizer = AnomalySynthesizers.Create(fsac.SynthesisMethod);
        return owner is null
            ? FsacClassifier.Fit(encoder, normals, fsac, synthesizer, progress, cancellationToken)
            : FsacClassifier.Fit(encoder, owner, normals, fsac, synthesizer, progress, cancellationToken);
    }

    private static PatchCoreClassifier FitDefault(IImageEncoder encoder, BackboneReference? owner, IReadOnlyList<Image<Rgb24>> normals,
        AnomalyMethodOptions options, CancellationToken cancellationToken)
    {
        var model = PatchCoreClassifier.Fit(encoder, owner, normals, DefaultMethod.For(encoder, options.Seed, options.BatchSize), cancellationToken);
        model.MethodName = AnomalyMethodOptions.NameOf(AnomalyMethod.Default);
        return model;
    }

    // Both parts borrow the encoder; the fusion owns it when a reference is given.
    private static FusedClassifier FitFusion(IImageEncoder encoder, BackboneReference? owner, IReadOnlyList<Image<Rgb24>> normals,
        AnomalyMethodOptions options, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        var fsac = FsacOptionsOf(options);
        var patchCore = PatchCoreOptionsOf(options);
        var parts = new List<IAnomalyClassifier>();
        try
        {
            // The patch head sees the input the memory sees, so the two maps align.
            int? resolution = options.Method == AnomalyMethod.FsacPatchCore ? patchCore.Resolution : null;
            parts.Add(FsacPatchClassifier.Fit(encoder, normals, fsac, AnomalySynthesizers.Create(fsac.SynthesisMethod), resolution, null, progress, cancellationToken));
            parts.Add(options.Method == AnomalyMethod.FsacLocal
                ? FsacClassifier.Fit(encoder, normals, fsac, AnomalySynthesizers.Create(fsac.SynthesisMethod), progress, cancellationToken)
                : PatchCoreClassifier.Fit(encoder, normals, patchCore, cancellationToken: cancellationToken));
            return new FusedClassifier(encoder, parts, options.MethodName, owner, ownsEncoder: owner is not null) { BatchSize = options.BatchSize };
        }
        catch
        {
            foreach (var part in parts) part.Dispose();
            throw;
        }
    }
}
