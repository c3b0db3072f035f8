using Fsac.MLNet.Encoders.Onnx;
using static Fsac.MLNet.Encoders.Onnx.OnnxAttributes;
using TorchSharp;

namespace Fsac.MLNet.Export;

/// <summary>
/// Writes WinCLIP+'s scoring, as the library computes it, into an ONNX graph: the zero-shot class score
/// s₀ = softmax([cos(f, T⁺), cos(f, T⁻)] / τ)[anomalous], the zero-shot map M₀ (the mean over the scales of the single
/// patches' probabilities and, for each window side that fits, the harmonic mean of the probabilities of the stride-1
/// windows of mean patch tokens that contain each patch), the few-shot map M_f = (1 − max cos to the memory) / 2 in
/// [0, 1] averaged over the memories, the map M = (M₀ + M_f) / 2 and the image score (s₀ + max M) / 2. The text
/// anchors and the memories are initializers: text features are constants once fitted.
/// </summary>
internal static class WinClipGraph
{
    // Window probabilities are floored before their reciprocals are summed, as the library floors them.
    private const float ProbabilityFloor = 1e-12f;

    /// <summary>
    /// Adds the nodes, reading the projected class tokens <paramref name="global"/> <c>[N, E]</c>, the projected patch
    /// tokens <paramref name="patches"/> <c>[N, P, E]</c> on an h × w grid and the tokens each memory compares
    /// (<paramref name="sources"/>, <c>[N, P, Cₗ]</c>), and returns the image score <c>[N]</c> and the map M <c>[N, P]</c>.
    /// </summary>
    public static (string Score, string Map) Scores(OnnxGraphBuilder g, WinClipPart part, string global, string patches, IReadOnlyList<string> sources,
        int rows, int columns)
    {
        using var scope = torch.NewDisposeScope();
        var anchors = part.Anchors.detach().to(torch.ScalarType.Float32, torch.CPU).contiguous();
        long e = anchors.shape[1];
        var anchorsT = g.Initializer("winclip.anchors_t", anchors.t().contiguous().data<float>().ToArray(), e, 2);
        var temperature = g.Initializer("winclip.temperature", [(float)part.Temperature]);
        var epsilon = g.Initializer("winclip.epsilon", [1e-12f]);
        var two = g.Initializer("winclip.two", [2f]);

        var s0 = AnomalyProbability(g, global, anchorsT, temperature, epsilon, "winclip.class");

        // M₀: the single patches, then each window side that fits the grid.
        var scales = new List<string> { AnomalyProbability(g, patches, anchorsT, temperature, epsilon, "winclip.patch") };
        var grid = g.Node("Reshape", "winclip.grid", [g.Node("Transpose", "winclip.channels_first", [patches], Ints("perm", 0, 2, 1)),
            g.Initializer("winclip.grid_shape", [0, e, rows, columns], 4)]);
        foreach (var size in part.WindowSizes)
        {
            if (size > rows || size > columns) continue;
            string name = $"winclip.window{size}";
            int h = rows - size + 1, w = columns - size + 1;
            var windows = g.Node("AveragePool", $"{name}.means", [grid], Ints("kernel_shape", size, size), Ints("strides", 1, 1));
            var windowRows = g.Node("Transpose", $"{name}.rows", [g.Node("Reshape", $"{name}.flat", [windows, g.Initializer($"{name}.flat_shape", [0, e, -1], 3)])],
                Ints("perm", 0, 2, 1));
            var probabilities = g.Node("Reshape", $"{name}.probability_grid", [AnomalyProbability(g, windowRows, anchorsT, temperature, epsilon, name),
                g.Initializer($"{name}.probability_shape", [0, 1, h, w], 4)]);
            scales.Add(HarmonicWindowMean(g, probabilities, size, rows, columns, name));
        }
        var m0 = scales.Count == 1 ? scales[0]
            : g.Node("Div", "winclip.zero_shot_map", [g.Node("Sum", "winclip.zero_shot_map.sum", scales), g.Initializer("winclip.scales", [(float)scales.Count])]);

        // M_f: (1 − max cos to the memory) / 2, clamped to [0, 1], averaged over the memories.
        var perMemory = new List<string>();
        for (int l = 0; l < part.Memories.Count; l++)
        {
            string name = $"winclip.memory{l}";
            var bank = part.Memories[l].detach().to(torch.ScalarType.Float32, torch.CPU);
            var bankT = g.Initializer($"{name}.t", bank.t().contiguous().data<float>().ToArray(), bank.shape[1], bank.shape[0]);
            var best = g.Reduce("ReduceMax", $"{name}.best", g.Node("MatMul", $"{name}.cosines", [Unit(g, sources[l], epsilon, name), bankT]), [2], keepDims: false);
            var distance = g.Node("Div", $"{name}.half_distance", [g.Node("Sub", $"{name}.distance", [g.Initializer($"{name}.one", [1f]), best]), two]);
            perMemory.Add(g.Node("Clip", $"{name}.map", [distance, g.Initializer($"{name}.min", [0f]), g.Initializer($"{name}.max", [1f])]));
        }
        var mf = perMemory.Count == 1 ? perMemory[0]
            : g.Node("Div", "winclip.few_shot_map", [g.Node("Sum", "winclip.few_shot_map.sum", perMemory), g.Initializer("winclip.memories", [(float)perMemory.Count])]);

        var map = g.Node("Div", "winclip.map", [g.Node("Add", "winclip.map.sum", [m0, mf]), two]);
        var peak = g.Reduce("ReduceMax", "winclip.map.max", map, [1], keepDims: false);
        var score = g.Node("Div", "winclip.score", [g.Node("Add", "winclip.score.sum", [s0, peak]), two]);
        return (score, map);
    }

    // softmax([cos(x, T⁺), cos(x, T⁻)] / τ)[anomalous] over the last axis of x [..., E].
    private static string AnomalyProbability(OnnxGraphBuilder g, string x, string anchorsT, string temperature, string epsilon, string name)
    {
        var cosines = g.Node("MatMul", $"{name}.cosines", [Unit(g, x, epsilon, name), anchorsT]);
        var softmax = g.Node("Softmax", $"{name}.softmax", [g.Node("Div", $"{name}.scaled", [cosines, temperature])], Int("axis", -1));
        return g.Node("Gather", $"{name}.probability", [softmax, g.Initializer($"{name}.anomalous", [1L])], Int("axis", -1));
    }

    // x / max(‖x‖, 1e-12) over the last axis.
    private static string Unit(OnnxGraphBuilder g, string x, string epsilon, string name)
        => g.Node("Div", $"{name}.unit", [x, g.Node("Max", $"{name}.norm.floor", [g.Reduce("ReduceL2", $"{name}.norm", x, [-1], keepDims: true), epsilon])]);

    // Each patch's harmonic mean of the windows of side s that contain it, [N, 1, h', w'] to [N, h·w]: the reciprocals
    // zero-padded by s − 1 and summed over every s × s block; the counts depend on the grid alone.
    private static string HarmonicWindowMean(OnnxGraphBuilder g, string probabilities, int size, int rows, int columns, string name)
    {
        long pad = size - 1;
        var reciprocals = g.Node("Reciprocal", $"{name}.reciprocals", [g.Node("Max", $"{name}.floored", [probabilities, g.Initializer($"{name}.floor", [ProbabilityFloor])])]);
        var kernel = g.Initializer($"{name}.kernel", Enumerable.Repeat(1f, size * size).ToArray(), 1, 1, size, size);
        var sums = g.Node("Conv", $"{name}.sums", [reciprocals, kernel], Ints("kernel_shape", size, size), Ints("pads", pad, pad, pad, pad));
        var counts = new float[rows * columns];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                counts[r * columns + c] = (Math.Min(r, rows - size) - Math.Max(0, r - size + 1) + 1) * (Math.Min(c, columns - size) - Math.Max(0, c - size + 1) + 1);
        var mean = g.Node("Div", $"{name}.harmonic", [g.Initializer($"{name}.counts", counts, 1, 1, rows, columns), sums]);
        return g.Node("Reshape", $"{name}.scale_map", [mean, g.Initializer($"{name}.map_shape", [0, -1], 2)]);
    }
}
