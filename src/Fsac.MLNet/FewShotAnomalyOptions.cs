using Fsac.MLNet.Classifiers;
using Fsac.MLNet.Encoders;
using Fsac.MLNet.Head;
using Fsac.MLNet.PatchCore;
using Fsac.MLNet.Pipeline;
using System.Text.Json.Serialization;

namespace Fsac.MLNet;

/// <summary>
/// Everything <c>mlContext.Transforms.FewShotAnomaly(options)</c> can be told. The defaults: 4 shots and the
/// default method (<see cref="DefaultMethod"/>, the one that scored best on real images), float32. The paper's
/// CLIP-FSAC is <see cref="Method"/> = <see cref="AnomalyMethod.Fsac"/> with <see cref="Fsac"/> (<see cref="FsacPreset.MVTec"/>).
/// </summary>
public sealed class FewShotAnomalyOptions
{
    /// <summary>Input column with the images: a file path (String), an <c>MLImage</c> or encoded bytes (Vector&lt;Byte&gt;).</summary>
    public string ImageColumnName { get; set; } = "Image";

    /// <summary>
    /// Optional Boolean label column read at fit time (true = anomalous, ML.NET's positive class); only rows
    /// labelled false are used as shots. Null, or a column absent from the training data, means every row is normal.
    /// </summary>
    public string? LabelColumnName { get; set; } = "Label";

    /// <summary>
    /// Output decision margin (Single): the anomaly score minus the threshold, so that Score &gt; 0 exactly when
    /// <see cref="PredictedLabelColumnName"/> is true, as ML.NET's binary evaluators assume.
    /// </summary>
    public string ScoreColumnName { get; set; } = "Score";

    /// <summary>Output decision (Boolean): true when the anomaly score is at or above the model's threshold.</summary>
    public string PredictedLabelColumnName { get; set; } = "PredictedLabel";

    /// <summary>
    /// Output anomaly score (Single) in [0, 1], ordered like the model's scores: CLIP-FSAC's S⁻/(S⁻+S⁺); for the memory
    /// methods a logistic of the patch distance that is 0.5 at the threshold (<see cref="IAnomalyClassifier.ToProbability"/>).
    /// </summary>
    public string ProbabilityColumnName { get; set; } = "Probability";

    /// <summary>
    /// Output anomaly map (Vector&lt;Single&gt;, row-major, non-negative; <see cref="IAnomalyClassifier.AnomalyMap"/>): the patch
    /// scores placed on the image for the patch methods, gradient saliency for global CLIP-FSAC. Null (the default) leaves it out.
    /// </summary>
    public string? AnomalyMapColumnName { get; set; }

    /// <summary>
    /// Width of the anomaly map. With <see cref="AnomalyMapHeight"/> both 0 (the default) each map keeps its image's
    /// own size and the column is a variable-length vector; both positive resample every map to this size and make
    /// the column a fixed-size <c>Vector&lt;Single, Height, Width&gt;</c>.
    /// </summary>
    public int AnomalyMapWidth { get; set; }

    /// <summary>Height of the anomaly map; see <see cref="AnomalyMapWidth"/>.</summary>
    public int AnomalyMapHeight { get; set; }

    /// <summary>Frozen backbone: <c>resnet18</c> (built in, offline), a CLIP model folder or a <c>name:tag</c>.</summary>
    public string Backbone { get; set; } = "resnet18";

    /// <summary>
    /// Resolves <see cref="Backbone"/> into a classifier factory at fit time; null uses <see cref="BuiltInBackboneResolver"/>.
    /// Not saved with a model: pass the same resolver when loading.
    /// </summary>
    [JsonIgnore]
    public IBackboneResolver? BackboneResolver { get; set; }

    /// <summary>Number of normal images the model is fitted on (k in k-shot).</summary>
    public int Shots { get; set; } = 4;

    /// <summary>
    /// Seed of the shot sampling and of the fitting. Null uses the random source ML.NET derives from the
    /// <c>MLContext</c>'s seed (reproducible for the same <c>MLContext(seed)</c> and the same sequence of calls).
    /// </summary>
    public int? Seed { get; set; }

    /// <summary>The method to fit; <see cref="AnomalyMethod.Default"/> (the one that scored best on real images) unless named.</summary>
    public AnomalyMethod Method { get; set; } = AnomalyMethod.Default;

    /// <summary>
    /// The CLIP-FSAC settings used when <see cref="Method"/> is <see cref="AnomalyMethod.Fsac"/>: prompts
    /// (<see cref="FsacOptions.ClassName"/>), α/β, training mode, epochs, learning rates, temperatures, synthesis method
    /// and pool size. <see cref="FsacPreset.MVTec"/> by default; <see cref="FsacPreset.VisA"/> is the paper's other
    /// setting. The seed and batch size are this object's <see cref="Seed"/> and <see cref="BatchSize"/>.
    /// </summary>
    public FsacOptions Fsac { get; set; } = FsacPreset.MVTec;

    /// <summary>The PatchCore settings used when <see cref="Method"/> is <see cref="AnomalyMethod.PatchCore"/> or <see cref="AnomalyMethod.FsacPatchCore"/>; the seed and batch size are this object's.</summary>
    public PatchCoreOptions PatchCore { get; set; } = new();

    /// <summary>The WinCLIP+ settings used when <see cref="Method"/> is <see cref="AnomalyMethod.WinClipPlus"/> (CLIP backbones); the class name comes from <see cref="Fsac"/>.</summary>
    public WinClipOptions WinClip { get; set; } = new();

    /// <summary>Numeric precision of the backbone.</summary>
    public EncoderPrecision Precision { get; set; } = EncoderPrecision.Float32;

    /// <summary>
    /// The engine of the backbone's frozen passes: <see cref="EncoderEngine.Auto"/> (the faster of TorchSharp and ONNX
    /// Runtime on this machine, logged at fit time) unless set. Both compute the same features.
    /// </summary>
    public EncoderEngine Engine { get; set; } = EncoderEngine.Auto;

    /// <summary>Images scored per model call when transforming (memory versus throughput).</summary>
    public int BatchSize { get; set; } = 16;

    /// <summary>A copy, so that later changes to this instance do not reach an estimator or transformer.</summary>
    internal FewShotAnomalyOptions Copy() => (FewShotAnomalyOptions)MemberwiseClone();

    /// <summary>The method settings of a fit seeded with <paramref name="seed"/>.</summary>
    internal AnomalyMethodOptions ToMethodOptions(int seed)
    {
        ArgumentNullException.ThrowIfNull(Fsac, nameof(Fsac));
        ArgumentNullException.ThrowIfNull(PatchCore, nameof(PatchCore));
        ArgumentNullException.ThrowIfNull(WinClip, nameof(WinClip));
        return new AnomalyMethodOptions { Method = Method, Fsac = Fsac, PatchCore = PatchCore, WinClip = WinClip, Seed = seed, BatchSize = BatchSize };
    }

    /// <summary>Throws for settings no fit could use, naming the property.</summary>
    internal void Validate()
    {
        NotEmpty(ImageColumnName, nameof(ImageColumnName));
        NotEmpty(ScoreColumnName, nameof(ScoreColumnName));
        NotEmpty(PredictedLabelColumnName, nameof(PredictedLabelColumnName));
        NotEmpty(ProbabilityColumnName, nameof(ProbabilityColumnName));
        NotEmpty(Backbone, nameof(Backbone));
        if (AnomalyMapColumnName is not null) NotEmpty(AnomalyMapColumnName, nameof(AnomalyMapColumnName));
        string[] outputs = [ScoreColumnName, PredictedLabelColumnName, ProbabilityColumnName, .. AnomalyMapColumnName is { } map ? [map] : Array.Empty<string>()];
        if (outputs.Distinct().Count() != outputs.Length)
            throw new ArgumentException($"The output column names must differ: {string.Join(", ", outputs)}.");
        ToMethodOptions(0).Validate();
        if (Shots < 1) throw new ArgumentOutOfRangeException(nameof(Shots), Shots, "At least one shot is needed.");
        if (BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "Must be at least 1.");
        if (AnomalyMapWidth < 0 || AnomalyMapHeight < 0 || (AnomalyMapWidth == 0) != (AnomalyMapHeight == 0))
            throw new ArgumentOutOfRangeException(nameof(AnomalyMapWidth),
                $"{nameof(AnomalyMapWidth)} and {nameof(AnomalyMapHeight)} must both be 0 (maps at image size) or both positive.");
    }

    private static void NotEmpty(string value, string name)
    {
        if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException($"{name} must not be empty.", name);
    }
}
