using Fsac.MLNet.Evaluation.Datasets;
using Fsac.MLNet.Imaging;

namespace Fsac.MLNet.Tests.Evaluation;

[TestClass]
public class DemoDatasetTests
{
    [TestMethod]
    public void RendersTheFolderLayoutDeterministically()
    {
        var a = Directory.CreateTempSubdirectory("fsac-demo-a").FullName;
        var b = Directory.CreateTempSubdirectory("fsac-demo-b").FullName;
        try
        {
            DemoDataset.Render(a, normals: 3, anomalies: 2, size: 48, seed: 5);
            DemoDataset.Render(b, normals: 3, anomalies: 2, size: 48, seed: 5);
            var categories = AnomalyDatasets.Discover(a, DatasetLayout.Folder);
            CollectionAssert.AreEqual(DemoDataset.Categories.ToArray(), categories.Select(c => c.Name).ToArray());
            foreach (var c in categories)
            {
                Assert.HasCount(3, c.NormalPool);
                Assert.AreEqual(2, c.Test.Count(t => t.IsAnomaly));
                foreach (var file in c.Test.Select(t => t.Path))
                    CollectionAssert.AreEqual(File.ReadAllBytes(file), File.ReadAllBytes(Path.Combine(b, Path.GetRelativePath(a, file))));
            }
        }
        finally
        {
            Directory.Delete(a, true);
            Directory.Delete(b, true);
        }
    }

    [TestMethod]
    public void OnlyAnomaliesCarryDefectPixels()
    {
        var root = Directory.CreateTempSubdirectory("fsac-demo").FullName;
        try
        {
            for (int seed = 0; seed < 12; seed++)
            {
                DemoDataset.Render(root, normals: 2, anomalies: 4, size: 64, seed: seed);
                foreach (var c in AnomalyDatasets.Discover(root, DatasetLayout.Folder))
                    foreach (var item in c.Test)
                    {
                        using var image = Fsac.MLNet.Imaging.ImageLoader.Default.Load(item.Path);
                        int defectPixels = 0;
                        for (int y = 0; y < image.Height; y++)
                            for (int x = 0; x < image.Width; x++)
                            {
                                var p = image[x, y];
                                if ((p.R, p.G, p.B) is (25, 20, 20) or (150, 85, 40)) defectPixels++;
                            }
                        if (item.IsAnomaly) Assert.IsGreaterThanOrEqualTo(20, defectPixels, item.Path);
                        else Assert.AreEqual(0, defectPixels, item.Path);
                    }
            }
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => DemoDataset.Render(root, normals: 0));
        }
        finally { Directory.Delete(root, true); }
    }
}
