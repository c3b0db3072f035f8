using Fsac.MLNet.Encoders.Onnx;
using Fsac.MLNet.Head;
using static Fsac.MLNet.Encoders.Onnx.OnnxAttributes;
using TorchSharp;
using TorchSharp.Modules;

namespace Fsac.MLNet.Export;

/// <summary>
/// Writes the forward pass of a trained CLIP-FSAC head (<see cref="FsacHead.Logit"/>) into an ONNX graph, op for op:
/// the image adapter AF = α₁·MLP(F) + α₂·F (Eq. 3; each block Linear, exact erf GELU, Linear), the image-to-text
/// cross-attention Linear(Softmax(F·ψᵀ/√C)·ψ) (Eq. 5) added to it (Eq. 6), then the logit of the anomaly score
/// (s(CF, AT⁻) − s(CF, AT⁺)) / τ with cosine similarities to the adapted anchors ψ (Eq. 10–12). ψ is a constant once
/// fitted, so the text adapter is not in the graph: ψ is an initializer. Works on features <c>[N, C]</c> or patch rows
/// <c>[N, P, C]</c> alike: every step acts on the last axis.
/// </summary>
internal static class HeadGraph
{
    /// <summary>Adds the head's nodes, reading <paramref name="features"/> <c>[..., C]</c>, and returns the logits <c>[...]</c>; value names start with <paramref name="prefix"/>.</summary>
    public static string Logits(OnnxGraphBuilder g, HeadPart part, string features, string prefix)
    {
        var head = part.Head;
        using var scope = torch.NewDisposeScope();
        var psi = part.Psi.detach().to(torch.ScalarType.Float32, torch.CPU).contiguous();
        long c = psi.shape[1];
        var psiValue = g.Initializer($"{prefix}psi", psi.data<float>().ToArray(), 2, c);

        // The image adapter's MLP, then its residual blend α₁·MLP(F) + α₂·F.
        var adapter = head.ImageAdapter;
        var x = features;
        var blocks = adapter.Blocks;
        for (int b = 0; b < blocks.Count; b++)
        {
            var up = Linear(g, x, blocks[b].Up, $"{prefix}image_adapter.{b}.up");
            x = Linear(g, Gelu(g, up, $"{prefix}image_adapter.{b}.gelu"), blocks[b].Down, $"{prefix}image_adapter.{b}.down");
        }
        var fused = g.Node("Add", $"{prefix}adapted", [
            g.Node("Mul", $"{prefix}adapted.mlp", [x, g.Initializer($"{prefix}alpha1", [adapter.AdaptedWeight])]),
            g.Node("Mul", $"{prefix}adapted.original", [features, g.Initializer($"{prefix}alpha2", [adapter.OriginalWeight])])]);

        if (head.CrossAttention is { } attention)
        {
            var psiT = g.Initializer($"{prefix}psi_t", psi.t().contiguous().data<float>().ToArray(), c, 2);
            var logits = g.Node("Mul", $"{prefix}attention.scaled", [g.Node("MatMul", $"{prefix}attention.logits", [features, psiT]),
                g.Initializer($"{prefix}attention.scale", [(float)attention.Scale])]);
            var weights = g.Node("Softmax", $"{prefix}attention.weights", [logits], Int("axis", -1));
            var mixed = g.Node("MatMul", $"{prefix}attention.mixed", [weights, psiValue]);
            fused = g.Node("Add", $"{prefix}fused", [fused, Linear(g, mixed, attention.Projection, $"{prefix}attention.proj")]);
        }

        // Cosine similarities to the unit anchors (normalised once, as the library normalises them), then the logit.
        var norm = g.Reduce("ReduceL2", $"{prefix}fused.norm", fused, [-1], keepDims: true);
        var unit = g.Node("Div", $"{prefix}fused.unit", [fused, g.Node("Max", $"{prefix}fused.norm.floor", [norm, g.Initializer($"{prefix}epsilon", [1e-12f])])]);
        var anchorsT = torch.nn.functional.normalize(psi, 2, 1).t().contiguous();
        var cosines = g.Node("MatMul", $"{prefix}cosines", [unit, g.Initializer($"{prefix}unit_anchors_t", anchorsT.data<float>().ToArray(), c, 2)]);
        var negative = g.Node("Gather", $"{prefix}cosine.anomalous", [cosines, g.Initializer($"{prefix}anomalous_index", [1L])], Int("axis", -1));
        var positive = g.Node("Gather", $"{prefix}cosine.normal", [cosines, g.Initializer($"{prefix}normal_index", [0L])], Int("axis", -1));
        return g.Node("Div", $"{prefix}logits", [g.Node("Sub", $"{prefix}cosine.difference", [negative, positive]),
            g.Initializer($"{prefix}temperature", [(float)part.Temperature])]);
    }

    // x·Wᵀ + b, W [out, in] stored transposed.
    private static string Linear(OnnxGraphBuilder g, string x, Linear linear, string name)
    {
        using var scope = torch.NewDisposeScope();
        var w = linear.weight!.detach().to(torch.ScalarType.Float32, torch.CPU).t().contiguous();
        var product = g.Node("MatMul", $"{name}.matmul", [x, g.Initializer($"{name}.weight_t", w.data<float>().ToArray(), w.shape)]);
        var b = linear.bias!.detach().to(torch.ScalarType.Float32, torch.CPU).contiguous();
        return g.Node("Add", name, [product, g.Initializer($"{name}.bias", b.data<float>().ToArray(), b.shape)]);
    }

    // Exact GELU, x·½·(1 + erf(x·(1/√2))).
    private static string Gelu(OnnxGraphBuilder g, string x, string name)
    {
        var erf = g.Node("Erf", $"{name}.erf", [g.Node("Mul", $"{name}.scaled", [x, g.Initializer($"{name}.sqrt1_2", [(float)(1 / Math.Sqrt(2))])])]);
        var gate = g.Node("Add", $"{name}.gate", [erf, g.Initializer($"{name}.one", [1f])]);
        return g.Node("Mul", name, [g.Node("Mul", $"{name}.half", [x, g.Initializer($"{name}.half_value", [0.5f])]), gate]);
    }
}
