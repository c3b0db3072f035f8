using Fsac.MLNet.Head;
using System.Text.Json;

namespace Fsac.MLNet.Tests.Head;

[TestClass]
public class PromptEnsembleTests
{
    [TestMethod]
    public void ReproducesTheReferenceBottlePromptsInOrder()
    {
        using var json = JsonDocument.Parse(File.ReadAllText(SharedData.Path("clip-reference", "tiny-vit", "expected.json")));
        var expected = json.RootElement.GetProperty("cpe_prompts").EnumerateArray().Select(e => e.GetString()).ToArray();

        var actual = new PromptEnsemble("bottle").All;

        Assert.HasCount(231, expected);
        CollectionAssert.AreEqual(expected, actual.ToArray());
    }

    [TestMethod]
    public void HasSevenNormalAndFourAnomalousStatesTimesTwentyOneTemplates()
    {
        var prompts = new PromptEnsemble("bottle");

        Assert.HasCount(7 * 21, prompts.NormalPrompts);
        Assert.HasCount(4 * 21, prompts.AnomalousPrompts);
        Assert.AreEqual("a cropped photo of the bottle.", prompts.NormalPrompts[0]);
        Assert.AreEqual("a photo of a bottle without damage for anomaly detection.", prompts.NormalPrompts[^1]);
        Assert.AreEqual("a cropped photo of the damaged bottle.", prompts.AnomalousPrompts[0]);
    }

    [TestMethod]
    public void AppendsExtraPromptsWithTheClassName()
    {
        var prompts = new PromptEnsemble("metal nut", ["a shiny {}"], ["a {} with a scratch", "rust"]);

        Assert.AreEqual("a shiny metal nut", prompts.NormalPrompts[^1]);
        Assert.HasCount(7 * 21 + 1, prompts.NormalPrompts);
        CollectionAssert.AreEqual(new[] { "a metal nut with a scratch", "rust" }, prompts.AnomalousPrompts.TakeLast(2).ToArray());
        Assert.IsTrue(prompts.All.All(p => !p.Contains(PromptEnsemble.Placeholder, StringComparison.Ordinal)));
    }

    [TestMethod]
    public void RejectsAnEmptyClassName()
    {
        Assert.ThrowsExactly<ArgumentException>(() => new PromptEnsemble(" "));
    }
}
