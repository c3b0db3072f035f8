using System.Text.RegularExpressions;

namespace Fsac.MLNet.Tests.Docs;

/// <summary>The README's C# examples are the sample programs CI builds and runs, word for word.</summary>
[TestClass]
public partial class ReadmeTests
{
    [GeneratedRegex(@"<!-- sample: (?<path>[^ ]+) -->\s*```csharp\n(?<code>.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex SampleBlock();

    [TestMethod]
    public void ReadmeExamplesEqualTheSamplePrograms()
    {
        var root = SharedData.RepositoryRoot;
        var readme = File.ReadAllText(Path.Combine(root, "README.md")).ReplaceLineEndings("\n");
        var blocks = SampleBlock().Matches(readme);
        Assert.IsGreaterThanOrEqualTo(2, blocks.Count, "the README should embed the QuickStart and Pipeline samples");
        foreach (Match block in blocks)
        {
            var path = Path.Combine(root, block.Groups["path"].Value);
            Assert.IsTrue(File.Exists(path), $"README refers to a missing sample: {path}");
            var sample = File.ReadAllText(path).ReplaceLineEndings("\n").TrimEnd('\n');
            Assert.AreEqual(sample, block.Groups["code"].Value, $"README's copy of {block.Groups["path"].Value} differs from the file");
        }
    }
}
