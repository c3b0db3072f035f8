using Fsac.MLNet.Synthesis;

namespace Fsac.MLNet.Tests.Synthesis;

[TestClass]
public class PoissonBlendingTests
{
    private static float[] Plane(int w, int h, Func<int, int, double> f)
    {
        var p = new float[w * h];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) p[y * w + x] = (float)f(x, y);
        return p;
    }

    private static double Laplacian(float[] p, int w, int x, int y) =>
        4.0 * p[y * w + x] - p[y * w + x - 1] - p[y * w + x + 1] - p[(y - 1) * w + x] - p[(y + 1) * w + x];

    [TestMethod]
    [DataRow(3, 3)]
    [DataRow(4, 50)]
    [DataRow(33, 65)]
    [DataRow(64, 64)]
    [DataRow(200, 7)]
    [DataRow(257, 129)]
    public void InteriorTakesSourceLaplacianAndBorderIsTarget(int w, int h)
    {
        var rng = new Random(w * 1000 + h);
        var target = Plane(w, h, (_, _) => rng.Next(256));
        var source = Plane(w, h, (x, y) => 120 + 60 * Math.Sin(x * 0.21) * Math.Cos(y * 0.13) + 0.3 * x);

        var result = PoissonBlending.Blend(target, source, w, h);

        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                bool ring = x == 0 || y == 0 || x == w - 1 || y == h - 1;
                if (ring)
                    Assert.AreEqual(target[y * w + x], result[y * w + x], $"boundary pixel ({x},{y}) must equal the target");
                else
                    Assert.AreEqual(Laplacian(source, w, x, y), Laplacian(result, w, x, y), 0.02, $"discrete Laplacian at ({x},{y})");
            }
    }

    [TestMethod]
    [DataRow(5, 5)]
    [DataRow(40, 30)]
    [DataRow(301, 250)]
    public void ConstantSourceIntoGradientTargetGivesTheTargetsSmoothInterpolation(int w, int h)
    {
        // x, y and x*y are discrete-harmonic, so the harmonic interpolation of this boundary is the function itself.
        Func<int, int, double> smooth = (x, y) => 10 + 0.5 * x + 0.3 * y + 0.001 * x * y;
        var target = Plane(w, h, smooth);
        var source = Plane(w, h, (_, _) => 77);

        var result = PoissonBlending.Blend(target, source, w, h);

        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                Assert.AreEqual(smooth(x, y), result[y * w + x], 0.01, $"pixel ({x},{y})");
    }

    [TestMethod]
    public void SourceGradientsAreReproducedWhenTheTargetIsTheSourceShifted()
    {
        const int w = 90, h = 70;
        var source = Plane(w, h, (x, y) => 50 + 0.02 * (x - 40) * (x - 40) + 20 * Math.Cos(y * 0.3));
        var target = Plane(w, h, (x, y) => source[y * w + x] + 37);

        var result = PoissonBlending.Blend(target, source, w, h);

        for (int y = 1; y < h - 1; y++)
            for (int x = 1; x < w - 1; x++)
            {
                Assert.AreEqual(source[y * w + x] + 37, result[y * w + x], 0.01, $"pixel ({x},{y})");
                Assert.AreEqual(source[y * w + x + 1] - source[y * w + x], result[y * w + x + 1] - result[y * w + x], 0.01, $"x gradient at ({x},{y})");
            }
    }

    [TestMethod]
    public void RejectsPlanesWithoutInteriorOrOfTheWrongLength()
    {
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => PoissonBlending.Blend(new float[6], new float[6], 2, 3));
        Assert.AreEqual("width", ex.ParamName);
        var wrong = Assert.ThrowsExactly<ArgumentException>(() => PoissonBlending.Blend(new float[9], new float[8], 3, 3));
        Assert.AreEqual("source", wrong.ParamName);
        StringAssert.Contains(wrong.Message, "3x3");
    }
}
