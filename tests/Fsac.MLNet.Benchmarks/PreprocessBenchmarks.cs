using Fsac.MLNet.Imaging;
using BenchmarkDotNet.Attributes;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Benchmarks;

/// <summary>Decoding and CLIP preprocessing of one 576x768 JPEG (the size of MVTec-style photos) at 240 px.</summary>
[MemoryDiagnoser]
public class PreprocessBenchmarks
{
    private byte[] _jpeg = [];
    private Image<Rgb24> _image = null!;
    private readonly ClipPreprocessor _preprocessor = new(PreprocessConfig.Square(240));
    private readonly float[] _destination = new float[3 * 240 * 240];

    [GlobalSetup]
    public void Setup()
    {
        using var source = new Image<Rgb24>(576, 768);
        for (int y = 0; y < 768; y++)
            for (int x = 0; x < 576; x++)
                source[x, y] = new Rgb24((byte)(x * 7 ^ y), (byte)(y * 3), (byte)((x + y) * 5));
        using var ms = new MemoryStream();
        source.SaveAsJpeg(ms, new JpegEncoder { Quality = 90 });
        _jpeg = ms.ToArray();
        _image = ImageLoader.Default.Load(_jpeg);
    }

    [GlobalCleanup]
    public void Cleanup() => _image.Dispose();

    [Benchmark]
    public int Decode()
    {
        using var image = ImageLoader.Default.Load(_jpeg);
        return image.Width;
    }

    [Benchmark]
    public float Preprocess()
    {
        _preprocessor.PreprocessInto(_image, _destination);
        return _destination[0];
    }

    [Benchmark]
    public float DecodeAndPreprocess()
    {
        using var image = ImageLoader.Default.Load(_jpeg);
        _preprocessor.PreprocessInto(image, _destination);
        return _destination[0];
    }
}
