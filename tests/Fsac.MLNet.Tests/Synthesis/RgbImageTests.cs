using Fsac.MLNet.Synthesis;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Fsac.MLNet.Tests.Synthesis;

[TestClass]
public class RgbImageTests
{
    private static string TempFile(string extension) => Path.Combine(Path.GetTempPath(), $"fsac-synth-{Guid.NewGuid():N}{extension}");

    [TestMethod]
    public void LoadsGreyscalePngAsGreyRgb()
    {
        string path = TempFile(".png");
        try
        {
            using (var grey = new Image<L8>(3, 2, new L8(77))) grey.SaveAsPng(path);
            using var rgb = RgbImage.Load(path);
            Assert.AreEqual(new Size(3, 2), rgb.Size());
            Assert.IsTrue(TestImages.Bytes(rgb).All(v => v == 77));
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void LoadsRgbaPngDroppingAlpha()
    {
        string path = TempFile(".png");
        try
        {
            using (var rgba = new Image<Rgba32>(2, 2, new Rgba32(10, 20, 30, 40))) rgba.SaveAsPng(path);
            using var rgb = RgbImage.Load(path);
            CollectionAssert.AreEqual(new byte[] { 10, 20, 30, 10, 20, 30, 10, 20, 30, 10, 20, 30 }, TestImages.Bytes(rgb));
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void LoadsRealGreyscaleAndColourImages()
    {
        using var cell = RgbImage.Load(Directory.GetFiles(SharedData.Path("data", "elpv", "mono", "normal"), "*.png").Order().First());
        var bytes = TestImages.Bytes(cell);
        for (int i = 0; i < bytes.Length; i += 3)
            Assert.IsTrue(bytes[i] == bytes[i + 1] && bytes[i] == bytes[i + 2], "a greyscale PNG gives grey RGB");
        using var cookie = RgbImage.Load(SharedData.Path("data", "cookies", "normal", "normal-1.jpg"));
        Assert.AreEqual(new Size(576, 768), cookie.Size());
    }

    [TestMethod]
    public void MissingFileNamesThePath()
    {
        string path = TempFile(".png");
        var ex = Assert.ThrowsExactly<FileNotFoundException>(() => RgbImage.Load(path));
        StringAssert.Contains(ex.Message, path);
    }

    [TestMethod]
    public void CorruptFileNamesThePath()
    {
        string path = TempFile(".png");
        try
        {
            File.WriteAllBytes(path, [0x89, 0x50, 0x4E, 0x47, 1, 2, 3, 4, 5, 6, 7]);
            var ex = Assert.ThrowsExactly<InvalidDataException>(() => RgbImage.Load(path));
            StringAssert.Contains(ex.Message, path);
            File.WriteAllText(path, "not an image at all");
            ex = Assert.ThrowsExactly<InvalidDataException>(() => RgbImage.Load(path));
            StringAssert.Contains(ex.Message, path);
        }
        finally { File.Delete(path); }
    }

    [TestMethod]
    public void ToRgb24ConvertsAnyPixelFormat()
    {
        using var grey = new Image<L16>(2, 1, new L16(65535));
        using var rgb = RgbImage.ToRgb24(grey);
        CollectionAssert.AreEqual(new byte[] { 255, 255, 255, 255, 255, 255 }, TestImages.Bytes(rgb));
    }
}
