using Fsac.MLNet.Encoders;
using Fsac.MLNet.Head;
using Fsac.MLNet.PatchCore;
using TorchSharp;

namespace Fsac.MLNet.Export;

/// <summary>
/// A fitted model as the ONNX export writes it, handed over by the model itself (the export sees no classifier):
/// its parts (one, or several fused as WinCLIP+ fuses them, by the mean of their probabilities), its threshold on its
/// own score, its method and backbone names, and the encoder (the view at the model's input resolution) it scores with.
/// </summary>
internal sealed record ExportedModel(IReadOnlyList<ExportedPart> Parts, float Threshold, string MethodName, string BackboneName, IImageEncoder Encoder);

/// <summary>A fitted model that can be exported (<see cref="OnnxExport"/>).</summary>
internal interface IOnnxExportable
{
    /// <summary>The model's parts, threshold and encoder, as the export writes them.</summary>
    /// <exception cref="NotSupportedException">A part or option has no ONNX form; the message names it.</exception>
    ExportedModel ForExport();
}

/// <summary>
/// One fitted part: its threshold on its own score, and the probability a fusion maps its scores to,
/// 1 / (1 + exp(−(score − centre) / scale)) (<see cref="Logistic"/>).
/// </summary>
internal abstract record ExportedPart(float Threshold, Logistic Probability);

/// <summary>
/// The logistic a fusion applies to a part's scores: 1 / (1 + exp(−(score − <paramref name="Centre"/>) /
/// <paramref name="Scale"/>)), the difference in float32 and the rest in double, as the library computes it; CLIP-FSAC's
/// global head uses centre 0 and scale 1 (AS, the sigmoid of its logit).
/// </summary>
internal readonly record struct Logistic(float Centre, double Scale);

/// <summary>
/// The CLIP-FSAC head (<see cref="FsacHead"/>) with its adapted anchors ψ = [AT⁺; AT⁻] <c>[2, C]</c> and score
/// temperature τ: on the pooled feature (the image score is the logit of AS) or, when <paramref name="OnPatches"/>, on
/// every patch (the image score is the largest patch logit, the map the patch logits as probabilities).
/// </summary>
internal sealed record HeadPart(FsacHead Head, torch.Tensor Psi, double Temperature, bool OnPatches, float Threshold, Logistic Probability)
    : ExportedPart(Threshold, Probability);

/// <summary>PatchCore's memory and options: the image score is the mean of the TopK nearest-neighbour patch distances, the map the distances.</summary>
internal sealed record MemoryPart(PatchMemory Memory, PatchCoreOptions Options, float Threshold, Logistic Probability)
    : ExportedPart(Threshold, Probability);

/// <summary>
/// WinCLIP+'s constants once fitted: the unit text anchors [T⁺; T⁻] <c>[2, E]</c>, the unit patch memories (one, of
/// projected patch tokens, or one per block of <paramref name="Layers"/>, of that block's residual-stream tokens), the
/// score temperature τ and the window sides of the zero-shot map.
/// </summary>
internal sealed record WinClipPart(torch.Tensor Anchors, IReadOnlyList<torch.Tensor> Memories, IReadOnlyList<int>? Layers, double Temperature,
    IReadOnlyList<int> WindowSizes, float Threshold) : ExportedPart(Threshold, new Logistic(0f, 1d));
