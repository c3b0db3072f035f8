namespace Fsac.MLNet.Checkpoints;

/// <summary>
/// Renames a Hugging Face transformers <c>CLIPModel</c> state dict (<c>vision_model.*</c>, <c>text_model.*</c>,
/// <c>visual_projection.weight</c>, <c>text_projection.weight</c>) to OpenCLIP's names: separate q/k/v
/// projections are concatenated into <c>in_proj_weight</c>/<c>in_proj_bias</c>, the projection matrices are
/// transposed (HF stores <c>[embed, width]</c> linear weights, OpenCLIP <c>[width, embed]</c> matrices) and the
/// <c>position_ids</c> buffers are dropped. Names it does not know are kept, so that validation reports them.
/// </summary>
internal static class HuggingFaceClipLayout
{
    private static readonly (string Hf, string OpenClip)[] TowerPrefixes =
    [
        ("vision_model.embeddings.class_embedding", "visual.class_embedding"),
        ("vision_model.embeddings.patch_embedding.", "visual.conv1."),
        ("vision_model.embeddings.position_embedding.weight", "visual.positional_embedding"),
        ("vision_model.pre_layrnorm.", "visual.ln_pre."),
        ("vision_model.post_layernorm.", "visual.ln_post."),
        ("vision_model.encoder.layers.", "visual.transformer.resblocks."),
        ("text_model.embeddings.token_embedding.", "token_embedding."),
        ("text_model.embeddings.position_embedding.weight", "positional_embedding"),
        ("text_model.final_layer_norm.", "ln_final."),
        ("text_model.encoder.layers.", "transformer.resblocks."),
    ];

    private static readonly (string Hf, string OpenClip)[] BlockParts =
    [
        ("layer_norm1.", "ln_1."),
        ("layer_norm2.", "ln_2."),
        ("self_attn.out_proj.", "attn.out_proj."),
        ("mlp.fc1.", "mlp.c_fc."),
        ("mlp.fc2.", "mlp.c_proj."),
    ];

    private static readonly string[] QkvParts = ["self_attn.q_proj.", "self_attn.k_proj.", "self_attn.v_proj."];

    /// <summary>True when the names are those of a Hugging Face CLIP checkpoint.</summary>
    public static bool Matches(IEnumerable<string> names)
        => names.Any(n => n.StartsWith("vision_model.", StringComparison.Ordinal) || n.StartsWith("text_model.", StringComparison.Ordinal));

    /// <summary>The same tensors under OpenCLIP's names.</summary>
    /// <exception cref="CheckpointFormatException">A projection is not 2-D, or a q/k/v triple is incomplete or inconsistent.</exception>
    public static Dictionary<string, TensorData> ToOpenClip(IReadOnlyDictionary<string, TensorData> hf, string source)
    {
        var result = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        var qkv = new Dictionary<string, TensorData?[]>(StringComparer.Ordinal);
        foreach (var (name, tensor) in hf)
        {
            if (name.EndsWith("position_ids", StringComparison.Ordinal)) continue;
            switch (name)
            {
                case "visual_projection.weight": result["visual.proj"] = Transposed(tensor, name, source); continue;
                case "text_projection.weight": result["text_projection"] = Transposed(tensor, name, source); continue;
            }
            var (mapped, qkvIndex) = MapName(name);
            if (qkvIndex < 0)
            {
                result[mapped] = tensor;
                continue;
            }
            if (!qkv.TryGetValue(mapped, out var parts)) qkv[mapped] = parts = new TensorData?[3];
            parts[qkvIndex] = tensor;
        }
        foreach (var (name, parts) in qkv) result[name] = Concatenated(name, parts, source);
        return result;
    }

    // The OpenCLIP name, and for a q/k/v projection its index in the concatenated in_proj (else -1).
    private static (string Name, int QkvIndex) MapName(string name)
    {
        foreach (var (hf, openClip) in TowerPrefixes)
        {
            if (!name.StartsWith(hf, StringComparison.Ordinal)) continue;
            string rest = name[hf.Length..];
            if (!hf.EndsWith(".layers.", StringComparison.Ordinal)) return (openClip + rest, -1);
            int dot = rest.IndexOf('.');
            if (dot < 0) return (name, -1);
            string layer = openClip + rest[..(dot + 1)];
            string part = rest[(dot + 1)..];
            foreach (var (hfPart, ocPart) in BlockParts)
                if (part.StartsWith(hfPart, StringComparison.Ordinal)) return (layer + ocPart + part[hfPart.Length..], -1);
            for (int i = 0; i < QkvParts.Length; i++)
                if (part.StartsWith(QkvParts[i], StringComparison.Ordinal))
                    return (layer + "attn.in_proj_" + part[QkvParts[i].Length..], i);
            return (name, -1);
        }
        return (name, -1);
    }

    private static TensorData Transposed(TensorData t, string name, string source)
    {
        if (t.Shape.Length != 2)
            throw new CheckpointFormatException(source, $"'{name}' should be a 2-D linear weight but has shape [{string.Join(", ", t.Shape)}].");
        return new TensorData(t.DType, [t.Shape[1], t.Shape[0]],
            StridedCopy.Transpose(t.Data, TensorData.ElementSize(t.DType), t.Shape[0], t.Shape[1]));
    }

    private static TensorData Concatenated(string name, TensorData?[] parts, string source)
    {
        if (parts.Any(p => p is null))
            throw new CheckpointFormatException(source, $"'{name}' needs q_proj, k_proj and v_proj but the checkpoint lacks " +
                string.Join(" and ", Enumerable.Range(0, 3).Where(i => parts[i] is null).Select(i => "qkv"[i] + "_proj")) + ".");
        var (q, k, v) = (parts[0]!, parts[1]!, parts[2]!);
        if (q.Shape.Length == 0 || k.DType != q.DType || v.DType != q.DType
            || !k.Shape.AsSpan(1).SequenceEqual(q.Shape.AsSpan(1)) || !v.Shape.AsSpan(1).SequenceEqual(q.Shape.AsSpan(1)))
            throw new CheckpointFormatException(source, $"the q/k/v projections of '{name}' differ in type or shape.");
        long[] shape = [q.Shape[0] + k.Shape[0] + v.Shape[0], .. q.Shape[1..]];
        return new TensorData(q.DType, shape, [.. q.Data, .. k.Data, .. v.Data]);
    }
}
