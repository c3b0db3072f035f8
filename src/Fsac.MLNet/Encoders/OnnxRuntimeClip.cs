using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.Encoders.Onnx;
using Fsac.MLNet.Native;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;

namespace Fsac.MLNet.Encoders;

/// <summary>
/// The frozen forward pass of a CLIP image tower on ONNX Runtime (CPU), for <see cref="EncoderEngine.OnnxRuntime"/>:
/// the tower written op for op into an ONNX graph in memory (<see cref="ClipOnnxGraph"/>), one session per thread
/// count (<see cref="OnnxRuntimeSessions{TKey}"/>), created on the first image. In float32 its class-token embedding
/// and projected patch tokens equal <see cref="VisionTransformer.Tokens"/>' to float32 rounding; in
/// <see cref="EncoderPrecision.Int8"/> the graph is quantized first (<see cref="OnnxQuantization"/>; 7-bit weights on
/// x86 CPUs without VNNI). Safe to call from several threads.
/// </summary>
internal sealed class OnnxRuntimeClip : IDisposable
{
    private readonly ClipModel _model;
    private readonly OnnxRuntimeSessions<int> _sessions;
    private readonly OnnxRuntimeSessions<int> _text;

    private OnnxRuntimeClip(ClipModel model, EncoderPrecision precision)
    {
        _model = model;
        // One graph for any thread count and batch size; the key only names it.
        int? int8Range = precision != EncoderPrecision.Int8 ? null
            : CpuFeatures.HasExactInt8Products ? OnnxQuantization.FullRange : OnnxQuantization.ReducedRange;
        _sessions = new OnnxRuntimeSessions<int>(_ => ClipOnnxGraph.EncoderModel(model, int8Range));
        // Every group of texts has its own shape, so an arena and per-shape memory plans would keep the largest of them.
        _text = new OnnxRuntimeSessions<int>(_ => ClipOnnxGraph.TextEncoderModel(model), reuseBuffers: false);
    }

    /// <summary>
    /// Runs the image tower of <paramref name="model"/> (borrowed: it must outlive this object; float32 weights) on ONNX
    /// Runtime in <paramref name="precision"/>: float32, or int8 (<see cref="EncoderPrecision.Int8"/>).
    /// </summary>
    /// <exception cref="NotSupportedException"><paramref name="precision"/> is bfloat16, or int8 and the tower too large for one ONNX graph.</exception>
    /// <exception cref="DllNotFoundException">The native ONNX Runtime library is not there.</exception>
    /// <exception cref="TypeInitializationException">It could not be loaded or initialised.</exception>
    public static OnnxRuntimeClip Create(ClipModel model, EncoderPrecision precision = EncoderPrecision.Float32)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (precision is not (EncoderPrecision.Float32 or EncoderPrecision.Int8))
            throw new NotSupportedException($"The ONNX Runtime engine runs float32 and int8; EncoderPrecision.{precision} runs on EncoderEngine.TorchSharp.");
        // The int8 graph holds its weights; the float32 one binds the tower's.
        long weightBytes = model.visual.parameters().Sum(p => p.numel()) * sizeof(float);
        if (precision == EncoderPrecision.Int8 && weightBytes > ClipOnnxGraph.MaxWeightBytes)
            throw new NotSupportedException(
                $"The image tower has {weightBytes / (double)(1L << 30):F2} GiB of float32 weights, more than one ONNX graph holds, and int8 quantizes them into one; use float32.");
        _ = OrtEnv.Instance(); // loads the native library now, so that a missing one is reported here rather than at the first image
        return new OnnxRuntimeClip(model, precision);
    }

    /// <summary>
    /// The projected class token <c>[N, E]</c> and/or the projected patch tokens as a grid <c>[N, E, G, G]</c> of
    /// CLIP-preprocessed float32 <paramref name="pixels"/> <c>[N, 3, S, S]</c> (validated by the caller); new tensors in
    /// the caller's dispose scope, never requiring grad.
    /// </summary>
    public EncodedImages Encode(torch.Tensor pixels, EncoderOutputs outputs)
    {
        bool wantPooled = outputs.HasFlag(EncoderOutputs.Global), wantPatches = outputs.HasFlag(EncoderOutputs.Patches);
        var vision = _model.Config.Vision;
        long batch = pixels.shape[0], grid = vision.GridSize, embed = _model.Config.EmbedDim;
        var pooled = wantPooled ? torch.empty(batch, embed) : null;
        var tokens = wantPatches ? torch.empty(batch, grid * grid, embed) : null;
        if (batch > 0)
        {
            using var input = pixels.detach().to(torch.ScalarType.Float32).contiguous();
            var names = new List<string>(2);
            var targets = new List<torch.Tensor>(2);
            if (pooled is not null) { names.Add(ClipOnnxGraph.ImageEmbedsOutput); targets.Add(pooled); }
            if (tokens is not null) { names.Add(ClipOnnxGraph.PatchTokensOutput); targets.Add(tokens); }
            _sessions.Run(0, ClipOnnxGraph.PixelsInput, input, names, targets);
        }
        if (tokens is null) return new EncodedImages(pooled, null);
        using (tokens)
            return new EncodedImages(pooled, tokens.reshape(batch, grid, grid, embed).permute(0, 3, 1, 2).contiguous());
    }

    /// <summary>
    /// The text features <c>[M, E]</c> of token ids <c>[M, context]</c> (int64), grouped as <see cref="ClipModel.EncodeText(torch.Tensor)"/>
    /// groups them, each group on the text tower's float32 graph (<see cref="ClipOnnxGraph.TextEncoderModel"/>, also
    /// when the image tower runs in int8); a new tensor in the caller's dispose scope, equal to TorchSharp's to float32
    /// rounding.
    /// </summary>
    public torch.Tensor EncodeText(torch.Tensor tokens) => _model.EncodeText(tokens, group =>
    {
        var features = torch.empty(group.shape[0], _model.Config.EmbedDim);
        _text.Run(0, ClipOnnxGraph.TokensInput, group, [ClipOnnxGraph.TextEmbedsOutput], [features]);
        return features;
    });

    /// <summary>Releases the sessions (the model stays with its owner).</summary>
    public void Dispose()
    {
        _sessions.Dispose();
        _text.Dispose();
    }
}
