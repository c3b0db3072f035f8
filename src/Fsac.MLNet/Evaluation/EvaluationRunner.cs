using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Evaluation.Baselines;
using Fsac.MLNet.Evaluation.Datasets;
using Fsac.MLNet.Fitting;
using Fsac.MLNet.Head;
using Fsac.MLNet.Imaging;
using Fsac.MLNet.Maps;
using Fsac.MLNet.Metrics;
using Fsac.MLNet.PatchCore;
using Fsac.MLNet.Synthesis;
using System.Diagnostics;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using TorchSharp;
using static TorchSharp.torch;

namespace Fsac.MLNet.Evaluation;

/// <summary>
/// Runs the paper's few-shot protocol (§4.1) over data set categories: for every k and seed, k normal shots are drawn
/// from the normal pool (<see cref="FewShotSplit"/>), every method is fitted on those same shots and tested on all other
/// images, and I-AUROC, I-AUPR and F1-max are recorded.
/// </summary>
/// <remarks>
/// The encoder is frozen, so each category's test images are loaded and encoded once and the features are reused for
/// every k × seed × method (<see cref="IFeatureScorer"/>); the fits encode their own shots and synthetic anomalies.
/// Deterministic: the same data, encoder, options and thread count give the same records (times aside). The first
/// seed's run with the diagnostic k keeps extra data for pictures (<see cref="RunDiagnostics"/>): its test-score
/// checkpoints are for reporting only and never choose anything.
/// </remarks>
public sealed class EvaluationRunner
{
    private readonly IImageEncoder encoder;
    private readonly Func<string, IAnomalySynthesizer> synthesizerFactory;
    private readonly ImageLoader loader;

    /// <summary>Creates a runner on a frozen encoder (borrowed, not disposed).</summary>
    /// <param name="encoder">The backbone every method runs on.</param>
    /// <param name="synthesizerFactory">Turns <see cref="FsacOptions.SynthesisMethod"/> into a synthesizer; default <see cref="AnomalySynthesizers.Create"/>.</param>
    /// <param name="loader">Decodes the images; default <see cref="ImageLoader.Default"/>.</param>
    public EvaluationRunner(IImageEncoder encoder, Func<string, IAnomalySynthesizer>? synthesizerFactory = null, ImageLoader? loader = null)
    {
        ArgumentNullException.ThrowIfNull(encoder);
        this.encoder = encoder;
        this.synthesizerFactory = synthesizerFactory ?? AnomalySynthesizers.Create;
        this.loader = loader ?? ImageLoader.Default;
    }

    /// <summary>Evaluates every category found under <paramref name="root"/> (<see cref="AnomalyDatasets.Discover"/>).</summary>
    /// <exception cref="DirectoryNotFoundException">The root does not exist.</exception>
    /// <exception cref="InvalidDataException">No category of the layout was found.</exception>
    /// <exception cref="EvaluationSetupException">A category cannot be evaluated as asked (too few normals, no anomaly).</exception>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    /// <exception cref="EvaluationCancelledException">Cancelled; carries the runs finished so far.</exception>
    public EvaluationReport Run(string root, DatasetLayout layout, EvaluationOptions options,
        IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(root);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var categories = AnomalyDatasets.Discover(root, layout);
        return RunCore(categories, options, Path.GetFullPath(root), layout, progress, cancellationToken);
    }

    /// <summary>Evaluates the given categories; see <see cref="Run(string, DatasetLayout, EvaluationOptions, IProgress{EvaluationProgress}?, CancellationToken)"/>.</summary>
    /// <exception cref="EvaluationSetupException">No category, or one that cannot be evaluated as asked.</exception>
    /// <exception cref="ArgumentException">An option is out of range.</exception>
    /// <exception cref="EvaluationCancelledException">Cancelled; carries the runs finished so far.</exception>
    public EvaluationReport Run(IReadOnlyList<DatasetCategory> categories, EvaluationOptions options,
        IProgress<EvaluationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(categories);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return RunCore(categories, options, null, null, progress, cancellationToken);
    }

    private EvaluationReport RunCore(IReadOnlyList<DatasetCategory> categories, EvaluationOptions options, string? root,
        DatasetLayout? layout, IProgress<EvaluationProgress>? progress, CancellationToken cancellationToken)
    {
        CheckCategories(categories, options);
        var notes = new List<string>();
        var methods = options.Methods.ToList();
        foreach (var (textOnly, what) in new[] { (EvaluationMethod.ZeroShot, "zero-shot CLIP-AC"), (EvaluationMethod.WinClipPlus, "WinCLIP+") })
        {
            if (!methods.Contains(textOnly) || encoder is ITextEncoder) continue;
            methods.Remove(textOnly);
            var note = $"{EvaluationMethods.NameOf(textOnly)} skipped: the backbone '{encoder.Name}' has no text tower ({what} needs a CLIP backbone).";
            notes.Add(note);
            progress?.Report(new EvaluationProgress(EvaluationPhase.Note, "", 0, categories.Count, 0, 0, note, null));
        }
        if (methods.Count == 0)
            throw new EvaluationSetupException("No method is left to run.", "add fsac or knn to the methods, or use a CLIP backbone for zeroshot");
        if (encoder is not ITextEncoder && methods.Any(EvaluationMethods.IsFsac))
            notes.Add($"The backbone '{encoder.Name}' has no text tower: CLIP-FSAC's anchors T⁺/T⁻ are prototypes (mean shot feature, mean synthetic-anomaly feature) instead of prompt features.");

        var settings = new EvaluationSettings(encoder.Name, encoder.FeatureDim, encoder is ITextEncoder, root, layout,
            [.. options.Shots], [.. options.Seeds], [.. methods.Select(EvaluationMethods.NameOf)], options.Fsac,
            options.CheckpointInterval, torch.get_num_threads());
        var summaries = new List<CategorySummary>();
        var records = new List<EvaluationRecord>();
        var diagnostics = new List<RunDiagnostics>();
        try
        {
            for (int c = 0; c < categories.Count; c++)
            {
                var context = new CategoryContext(categories[c], c + 1, categories.Count, progress);
                RunCategory(context, options, methods, summaries, records, diagnostics, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new EvaluationCancelledException(new EvaluationReport(settings, summaries, records, diagnostics, notes, Complete: false), cancellationToken);
        }
        return new EvaluationReport(settings, summaries, records, diagnostics, notes, Complete: true);
    }

    private static void CheckCategories(IReadOnlyList<DatasetCategory> categories, EvaluationOptions options)
    {
        if (categories.Count == 0)
            throw new EvaluationSetupException("There is no category to evaluate.", "check the data folder and its layout");
        int maxShots = options.Shots.Max();
        foreach (var category in categories)
        {
            if (category.NormalPool.Count < maxShots)
                throw new EvaluationSetupException(
                    $"Category '{category.Name}' has {category.NormalPool.Count} normal image(s), fewer than the {maxShots} shots asked for.",
                    "ask for fewer shots, or add normal images to that category");
            if (!category.Test.Any(t => t.IsAnomaly))
                throw new EvaluationSetupException($"Category '{category.Name}' has no anomalous test image.",
                    "the metrics need anomalous test images; add some or leave the category out");
            foreach (var seed in options.Seeds)
                if (FewShotSplit.Draw(category, maxShots, seed).Test.All(t => t.IsAnomaly))
                    throw new EvaluationSetupException(
                        $"Category '{category.Name}' has no normal test image left once {maxShots} shots are drawn (seed {seed}).",
                        "ask for fewer shots, or add normal images to that category");
        }
    }

    private void RunCategory(CategoryContext context, EvaluationOptions options, List<EvaluationMethod> methods,
        List<CategorySummary> summaries, List<EvaluationRecord> records, List<RunDiagnostics> diagnostics, CancellationToken cancellationToken)
    {
        var category = context.Category;
        var fsacOptions = options.ClassNameFromCategory ? options.Fsac with { ClassName = ClassNameOf(category.Name) } : options.Fsac;
        var watch = Stopwatch.StartNew();
        // Test images are encoded once per category: pooled features when a method reads them, patches once per
        // input resolution that a method asks for; the encoder's own resolution comes from the same pass as the pooled features.
        bool needGlobal = methods.Any(m => EvaluationMethods.Needs(m).HasFlag(EncoderOutputs.Global));
        var resolutions = methods.Where(m => EvaluationMethods.Needs(m).HasFlag(EncoderOutputs.Patches)).Select(m => PatchResolution(m, options)).Distinct().ToList();
        var patchSets = new Dictionary<int, PatchFeatures>();
        Tensor? encodedGlobal = null;
        if (needGlobal || resolutions.Contains(null))
        {
            var outputs = (needGlobal ? EncoderOutputs.Global : 0) | (resolutions.Contains(null) ? EncoderOutputs.Patches : 0);
            var (global, own) = EncodeTest(context, encoder, outputs, fsacOptions.InferenceBatchSize, cancellationToken);
            encodedGlobal = global;
            if (own is not null) patchSets[0] = own;
        }
        using var features = encodedGlobal;
        try
        {
            foreach (var resolution in resolutions.OfType<int>())
            {
                using var view = encoder.WithResolution(resolution);
                patchSets[resolution] = EncodeTest(context, view, EncoderOutputs.Patches, fsacOptions.InferenceBatchSize, cancellationToken).Patches!;
            }
            double encodeMs = watch.Elapsed.TotalMilliseconds / category.Test.Count;
            summaries.Add(new CategorySummary(category.Name, category.NormalPool.Count, category.Test.Count,
                category.Test.Count(t => t.IsAnomaly), encodeMs));
            var masks = category.HasMasks && patchSets.Count > 0 ? LoadMasks(category, patchSets.Values.First()) : null;

            var rowOf = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < category.Test.Count; i++) rowOf[category.Test[i].Path] = i;
            int diagnosticShots = options.DiagnosticShots ?? options.Shots.Max();
            EvaluationMethod? traced = methods.Where(EvaluationMethods.IsFsac).Select(m => (EvaluationMethod?)m).FirstOrDefault();
            EvaluationMethod? mapped = methods.Where(EvaluationMethods.IsPatchMethod).Select(m => (EvaluationMethod?)m).FirstOrDefault() ?? traced;

            // Zero-shot needs no shots: its prompts are encoded once per category and the model serves every run.
            ZeroShotClassifier? zeroShot = null;
            double zeroShotSeconds = 0;
            if (methods.Contains(EvaluationMethod.ZeroShot))
            {
                watch.Restart();
                zeroShot = ZeroShotClassifier.Fit(encoder, fsacOptions);
                zeroShotSeconds = watch.Elapsed.TotalSeconds;
            }
            try
            {
                foreach (var shots in options.Shots)
                    foreach (var seed in options.Seeds)
                    {
                        var split = FewShotSplit.Draw(category, shots, seed);
                        var run = new RunContext(context, split, shots, seed, encodeMs, fsacOptions with { Seed = seed },
                            [.. split.Test.Select(t => rowOf[t.Path])], zeroShot, zeroShotSeconds);
                        bool diagnostic = shots == diagnosticShots && seed == options.Seeds[0];
                        var inputs = new SplitInputs(features, patchSets, masks);
                        var result = RunSplit(run, methods, diagnostic, traced, mapped, options, inputs, records, cancellationToken);
                        if (result is not null) diagnostics.Add(result);
                    }
            }
            finally
            {
                zeroShot?.Dispose();
            }
        }
        finally
        {
            foreach (var set in patchSets.Values) set.Dispose();
        }
    }

    /// <summary>What a split is scored on: the category's pooled features, its patch features per resolution (0 = the encoder's own) and its masks.</summary>
    private sealed record SplitInputs(Tensor? Features, Dictionary<int, PatchFeatures> Patches, MaskSet? Masks);

    /// <summary>
    /// Ground truth for the pixel metrics on a raster of at most <see cref="MaskSide"/> pixels a side per image: an
    /// all-false mask for normal images, the loaded mask for anomalies that have one, null for anomalies without.
    /// </summary>
    private sealed record MaskSet(bool[]?[] Masks, (int Width, int Height)[] Sizes);

    private const int MaskSide = 256;

    private static MaskSet LoadMasks(DatasetCategory category, PatchFeatures patches)
    {
        var masks = new bool[]?[category.Test.Count];
        var sizes = new (int, int)[category.Test.Count];
        for (int i = 0; i < category.Test.Count; i++)
        {
            var grid = patches.Grids[i];
            double scale = Math.Min(1.0, (double)MaskSide / Math.Max(grid.ImageWidth, grid.ImageHeight));
            int w = Math.Max(1, (int)Math.Round(grid.ImageWidth * scale)), h = Math.Max(1, (int)Math.Round(grid.ImageHeight * scale));
            sizes[i] = (w, h);
            var item = category.Test[i];
            masks[i] = !item.IsAnomaly ? new bool[w * h] : item.MaskPath is { } mask ? AnomalyMasks.Load(mask, w, h) : null;
        }
        return new MaskSet(masks, sizes);
    }

    /// <summary>The input resolution at which a method reads patches (null: the encoder's own).</summary>
    private int? PatchResolution(EvaluationMethod method, EvaluationOptions options) => method switch
    {
        EvaluationMethod.Default or EvaluationMethod.PatchCore or EvaluationMethod.FsacPatchCore => PatchOptionsFor(method, options, 0).Resolution,
        _ => null,
    };

    /// <summary>The patch-method options of a run: the <c>default</c> method's own, or <see cref="EvaluationOptions.PatchCore"/>.</summary>
    private PatchCoreOptions PatchOptionsFor(EvaluationMethod method, EvaluationOptions options, int seed) => method switch
    {
        EvaluationMethod.Default => DefaultMethod.For(encoder, seed, options.Fsac.InferenceBatchSize),
        EvaluationMethod.PatchCore or EvaluationMethod.FsacPatchCore => options.PatchCore with { Seed = seed },
        _ => throw new ArgumentException($"'{EvaluationMethods.NameOf(method)}' is not a patch method.", nameof(method)),
    };

    private RunDiagnostics? RunSplit(RunContext run, List<EvaluationMethod> methods, bool diagnostic, EvaluationMethod? traced,
        EvaluationMethod? mapped, EvaluationOptions options, SplitInputs inputs, List<EvaluationRecord> records, CancellationToken cancellationToken)
    {
        using var scope = NewDisposeScope();
        Tensor? features = null;
        if (inputs.Features is not null)
        {
            using var rows = tensor(run.Rows.Select(r => (long)r).ToArray());
            features = inputs.Features.index_select(0, rows);
        }
        var labels = run.Split.Test.Select(t => t.IsAnomaly).ToArray();
        var shotImages = new List<Image<Rgb24>>(run.Shots);
        var scoresByMethod = new Dictionary<string, float[]>();
        TrainingCurve? curve = null;
        List<WorstCase> worst = [];
        try
        {
            foreach (var path in run.Split.Shots) shotImages.Add(loader.Load(path));
            foreach (var method in methods)
            {
                cancellationToken.ThrowIfCancellationRequested();
                bool trace = diagnostic && method == traced;
                var checkpoints = new List<EpochCheckpoint>();
                var watch = Stopwatch.StartNew();
                var observed = TimeSpan.Zero;
                Action<TrainingCheckpoint>? onCheckpoint = trace && options.CheckpointInterval > 0
                    ? c =>
                    {
                        if (c.Epoch % options.CheckpointInterval != 0 && c.Epoch != c.TotalEpochs) return;
                        var start = watch.Elapsed;
                        var s = c.ScoreFeatures(features!);
                        checkpoints.Add(new EpochCheckpoint(c.Epoch, ImageMetrics.Auroc(s, labels), s));
                        observed += watch.Elapsed - start;
                    }
                    : null;
                // The zero-shot model belongs to the category; every other model is fitted for this run and disposed after it.
                using var fitted = method == EvaluationMethod.ZeroShot ? null : Fit(method, run, shotImages, onCheckpoint, options, cancellationToken);
                double fitSeconds = fitted is null ? run.ZeroShotSeconds : (watch.Elapsed - observed).TotalSeconds;

                watch.Restart();
                float[] scores;
                double? pixelAuroc = null, aupro = null;
                if ((fitted is FewShotAnomalyClassifier facade ? facade.Inner : fitted) is IEncodedScorer encodedScorer)
                {
                    using var patches = encodedScorer.Needs.HasFlag(EncoderOutputs.Patches) ? inputs.Patches[encodedScorer.Resolution ?? 0].Select(run.Rows) : null;
                    var scored = encodedScorer.ScoreEncoded(features, patches);
                    scores = scored.Scores;
                    if (inputs.Masks is { } masks && patches is not null) (pixelAuroc, aupro) = PixelLevel(run, patches, scored, masks, PatchSigma(fitted!));
                }
                else
                {
                    var scorer = fitted is null ? run.ZeroShot! : (IFeatureScorer)fitted;
                    scores = scorer.ScoreFeatures(features!);
                }
                double headMs = watch.Elapsed.TotalMilliseconds / scores.Length;
                var record = new EvaluationRecord(run.Context.Category.Name, EvaluationMethods.NameOf(method), run.Shots, run.Seed,
                    ImageMetrics.Auroc(scores, labels), ImageMetrics.AveragePrecision(scores, labels), ImageMetrics.F1Max(scores, labels),
                    fitSeconds, run.EncodeMsPerImage + headMs, labels.Count(l => !l), labels.Count(l => l), pixelAuroc, aupro);
                records.Add(record);
                run.Context.Report(EvaluationPhase.RunCompleted, 1, 1, run.Describe(method), record);

                if (!diagnostic) continue;
                scoresByMethod[record.Method] = scores;
                if (trace && fitted is FsacClassifier fsac)
                    curve = new TrainingCurve(record.Method, checkpoints, fsac.History);
                if (method == mapped && fitted is IAnomalyClassifier model)
                    worst = WorstCases(model, run, scores, options.HeatmapsPerClass, cancellationToken);
            }
        }
        finally
        {
            foreach (var image in shotImages) image.Dispose();
        }
        return !diagnostic
            ? null
            : new RunDiagnostics(run.Context.Category.Name, run.Shots, run.Seed, [.. run.Split.Test.Select(t => t.Path)], labels,
                scoresByMethod, curve, worst, mapped is { } m ? EvaluationMethods.NameOf(m) : null);
    }

    private static double PatchSigma(IImageScorer model) => model switch
    {
        PatchCoreClassifier p => p.Options.MapSigma,
        WinClipClassifier w => w.Options.MapSigma,
        _ => AnomalyMapBuilder.DefaultSigma,
    };


    // P-AUROC and AUPRO over the test images whose ground truth is known (normals, and anomalies with a mask).
    private static (double? PixelAuroc, double? Aupro) PixelLevel(RunContext run, PatchFeatures patches, PatchScores scored, MaskSet masks, double sigma)
    {
        var maps = new List<float[]>();
        var truth = new List<bool[]>();
        var widths = new List<int>();
        for (int i = 0; i < run.Rows.Length; i++)
        {
            var mask = masks.Masks[run.Rows[i]];
            if (mask is null) continue;
            var (w, h) = masks.Sizes[run.Rows[i]];
            maps.Add(AnomalyMapBuilder.Build(scored.PatchMaps[i], patches.Grids[i], w, h, sigma));
            truth.Add(mask);
            widths.Add(w);
        }
        if (!truth.Any(m => m.Any(v => v))) return (null, null);
        return (PixelMetrics.PixelAuroc(maps, truth), PixelMetrics.Aupro(maps, truth, widths));
    }

    /// <summary>Fits a patch method, kNN or a CLIP-FSAC variant on the run's shots.</summary>
    private IImageScorer Fit(EvaluationMethod method, RunContext run, List<Image<Rgb24>> shots,
        Action<TrainingCheckpoint>? checkpoint, EvaluationOptions evaluation, CancellationToken cancellationToken)
    {
        if (method == EvaluationMethod.WinClipPlus)
            return WinClipClassifier.Fit(encoder, shots, new WinClipOptions { ClassName = run.Options.ClassName, Seed = run.Seed, InferenceBatchSize = run.Options.InferenceBatchSize }, cancellationToken);
        if (method is EvaluationMethod.FsacLocal or EvaluationMethod.FsacPatchCore)
        {
            var reporter = new TrainingReporter(run.Context, run.Describe(method), 2 * HeadTrainer.StagesOf(run.Options.TrainingMode).Count * run.Options.EpochsPerStage);
            return FewShotAnomalyClassifier.Fit(encoder, shots, new AnomalyMethodOptions
            {
                Method = method == EvaluationMethod.FsacLocal ? AnomalyMethod.FsacLocal : AnomalyMethod.FsacPatchCore,
                Fsac = run.Options,
                PatchCore = evaluation.PatchCore,
                Seed = run.Seed,
                BatchSize = run.Options.InferenceBatchSize,
            }, reporter, cancellationToken);
        }
        if (EvaluationMethods.IsPatchMethod(method))
            return PatchCoreClassifier.Fit(encoder, shots, PatchOptionsFor(method, evaluation, run.Seed), synthesizerFactory(PatchOptionsFor(method, evaluation, run.Seed).SynthesisMethod), cancellationToken);
        if (method == EvaluationMethod.Knn)
            return KnnBaseline.Fit(encoder, shots, run.Options.InferenceBatchSize, cancellationToken);
        var options = EvaluationMethods.OptionsFor(method, run.Options);
        var synthesizer = synthesizerFactory(options.SynthesisMethod);
        var progress = new TrainingReporter(run.Context, run.Describe(method), HeadTrainer.StagesOf(options.TrainingMode).Count * options.EpochsPerStage);
        return checkpoint is null
            ? FsacClassifier.Fit(encoder, shots, options, synthesizer, progress, cancellationToken)
            : FsacClassifier.Fit(encoder, shots, options, synthesizer, checkpoint, progress, cancellationToken);
    }

    private List<WorstCase> WorstCases(IAnomalyClassifier model, RunContext run, float[] scores, int perClass, CancellationToken cancellationToken)
    {
        var test = run.Split.Test;
        var anomalies = Enumerable.Range(0, test.Count).Where(i => test[i].IsAnomaly).OrderBy(i => scores[i]).ThenBy(i => i).Take(perClass);
        var normals = Enumerable.Range(0, test.Count).Where(i => !test[i].IsAnomaly).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(perClass);
        var chosen = anomalies.Select((i, r) => (Index: i, Rank: r + 1)).Concat(normals.Select((i, r) => (Index: i, Rank: r + 1))).ToList();
        var result = new List<WorstCase>(chosen.Count);
        foreach (var (index, rank) in chosen)
        {
            run.Context.Report(EvaluationPhase.Saliency, result.Count, chosen.Count, null, null);
            using var image = loader.Load(test[index].Path);
            var map = model.AnomalyMap(image, cancellationToken);
            result.Add(new WorstCase(test[index].Path, test[index].IsAnomaly, scores[index], rank, image.Width, image.Height, map));
        }
        if (chosen.Count > 0) run.Context.Report(EvaluationPhase.Saliency, chosen.Count, chosen.Count, null, null);
        return result;
    }

    /// <summary>
    /// Loads and encodes the category's test images once, in batches, with <paramref name="view"/> (the encoder or one
    /// of its resolution views): pooled features and/or patch features as <paramref name="outputs"/> asks.
    /// </summary>
    private (Tensor? Global, PatchFeatures? Patches) EncodeTest(CategoryContext context, IImageEncoder view, EncoderOutputs outputs, int batchSize,
        CancellationToken cancellationToken)
    {
        var test = context.Category.Test;
        using var scope = NewDisposeScope();
        var globals = new List<Tensor>();
        var patches = new List<PatchFeatures>();
        try
        {
            context.Report(EvaluationPhase.Encoding, 0, test.Count, null, null);
            for (int start = 0; start < test.Count; start += batchSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var images = new List<Image<Rgb24>>(batchSize);
                try
                {
                    for (int i = start; i < Math.Min(start + batchSize, test.Count); i++) images.Add(loader.Load(test[i].Path));
                    var (global, grid) = view.EncodeBatches(images, batchSize, outputs, cancellationToken);
                    if (global is not null) globals.Add(global);
                    if (grid is not null) patches.Add(grid);
                }
                finally
                {
                    foreach (var image in images) image.Dispose();
                }
                context.Report(EvaluationPhase.Encoding, Math.Min(start + batchSize, test.Count), test.Count, null, null);
            }
            return (outputs.HasFlag(EncoderOutputs.Global) ? cat(globals, 0).DetachFromDisposeScope() : null,
                outputs.HasFlag(EncoderOutputs.Patches) ? PatchFeatures.Concat(patches, view.PatchDim) : null);
        }
        finally
        {
            foreach (var part in patches) part.Dispose();
        }
    }

    /// <summary>The prompt class name of a category: its last name segment, underscores as spaces.</summary>
    private static string ClassNameOf(string category)
    {
        var last = category.TrimEnd('/').Split('/').Last();
        var name = last.Replace('_', ' ').Trim();
        return name.Length == 0 ? "object" : name;
    }

    private sealed record CategoryContext(DatasetCategory Category, int Index, int Count, IProgress<EvaluationProgress>? Progress)
    {
        public void Report(EvaluationPhase phase, int done, int total, string? detail, EvaluationRecord? record)
            => Progress?.Report(new EvaluationProgress(phase, Category.Name, Index, Count, done, total, detail, record));
    }

    private sealed record RunContext(CategoryContext Context, FewShotSplit Split, int Shots, int Seed, double EncodeMsPerImage,
        FsacOptions Options, int[] Rows, ZeroShotClassifier? ZeroShot, double ZeroShotSeconds)
    {
        public string Describe(EvaluationMethod method) => $"k={Shots} seed={Seed} {EvaluationMethods.NameOf(method)}";
    }

    /// <summary>Forwards training epochs as <see cref="EvaluationPhase.Training"/> reports, numbered over all stages.</summary>
    private sealed class TrainingReporter(CategoryContext context, string detail, int totalEpochs) : IProgress<TrainingProgress>
    {
        private int done;

        public void Report(TrainingProgress value) => context.Report(EvaluationPhase.Training, ++done, totalEpochs, detail, null);
    }
}
