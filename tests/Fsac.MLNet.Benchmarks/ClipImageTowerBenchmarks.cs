using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.Encoders.Onnx;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;

namespace Fsac.MLNet.Benchmarks;

/// <summary>
/// The image tower of ViT-B-16-plus-240 (random weights: speed does not depend on their values) on one image per pass:
/// TorchSharp in float32 and bfloat16, and its ONNX graph (<see cref="ClipOnnxGraph"/>) on ONNX Runtime in float32 and
/// dynamically quantized to int8 (<see cref="OnnxQuantization"/>), sessions as the ResNet18 engine makes them (all of
/// libtorch's threads, sequential, full optimisation).
/// Run: dotnet run -c Release --project tests/Fsac.MLNet.Benchmarks -- --filter '*ClipImageTower*' --job short
/// </summary>
[Config(typeof(ThroughputConfig))]
public class ClipImageTowerBenchmarks
{
    private ClipModel _model = null!;
    private InferenceSession? _session;
    private torch.Tensor _pixels = null!;
    private OrtValue? _input;

    /// <summary>Images per pass.</summary>
    [Params(1)]
    public int Batch { get; set; }

    /// <summary>The engine and precision.</summary>
    [Params(Case.TorchSharpFloat32, Case.TorchSharpBFloat16, Case.OnnxRuntimeFloat32, Case.OnnxRuntimeInt8)]
    public Case Engine { get; set; }

    /// <summary>The engines and precisions timed.</summary>
    public enum Case
    {
        TorchSharpFloat32,
        TorchSharpBFloat16,
        OnnxRuntimeFloat32,
        OnnxRuntimeInt8,
    }

    [GlobalSetup]
    public void Setup()
    {
        var config = ClipConfig.FromName("ViT-B-16-plus-240");
        _model = new ClipModel(config);
        using (torch.no_grad())
        {
            var generator = new torch.Generator(0);
            foreach (var (_, p) in _model.named_parameters()) p.normal_(0, 0.02, generator);
        }
        int size = config.Vision.ImageSize;
        _pixels = torch.randn([Batch, 3, size, size], generator: new torch.Generator(1));
        if (Engine is Case.TorchSharpFloat32 or Case.TorchSharpBFloat16)
        {
            _model.ToDtype(Engine == Case.TorchSharpBFloat16 ? torch.ScalarType.BFloat16 : torch.ScalarType.Float32);
            return;
        }
        var graph = ClipOnnxGraph.Build(_model);
        if (Engine == Case.OnnxRuntimeInt8) OnnxQuantization.Quantize(graph);
        using var options = new SessionOptions
        {
            IntraOpNumThreads = torch.get_num_threads(),
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(graph.ToByteArray(), options);
        _input = OrtValue.CreateTensorValueFromMemory(_pixels.contiguous().data<float>().ToArray(), _pixels.shape);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _input?.Dispose();
        _session?.Dispose();
        _pixels.Dispose();
        _model.Dispose();
    }

    [Benchmark]
    public long Encode()
    {
        if (_session is null)
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            return _model.EncodeImage(_pixels).shape[0];
        }
        using var outputs = _session.Run(new RunOptions(), [ClipOnnxGraph.PixelsInput], [_input!], [ClipOnnxGraph.ImageEmbedsOutput]);
        return outputs[0].GetTensorTypeAndShape().Shape[0];
    }

    private sealed class ThroughputConfig : ManualConfig
    {
        public ThroughputConfig() => AddColumn(new ImagesPerSecondColumn());
    }
}
