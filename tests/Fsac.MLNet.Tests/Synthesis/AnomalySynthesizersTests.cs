using Fsac.MLNet.Synthesis;

namespace Fsac.MLNet.Tests.Synthesis;

[TestClass]
public class AnomalySynthesizersTests
{
    [TestMethod]
    public void CreatesEachNamedMethod()
    {
        CollectionAssert.AreEqual(new[] { "gaussian", "uniform", "nsa", "cutpaste", "cutpaste-scar" }, AnomalySynthesizers.Names.ToArray());
        foreach (var name in AnomalySynthesizers.Names)
            Assert.AreEqual(name, AnomalySynthesizers.Create(name).Name);
        Assert.IsInstanceOfType<GaussianNoiseSynthesizer>(AnomalySynthesizers.Create("gaussian"));
        Assert.IsInstanceOfType<UniformNoiseSynthesizer>(AnomalySynthesizers.Create("uniform"));
        Assert.IsInstanceOfType<NsaSynthesizer>(AnomalySynthesizers.Create("nsa"));
        Assert.AreEqual(CutPasteMode.Rectangle, ((CutPasteSynthesizer)AnomalySynthesizers.Create("cutpaste")).Options.Mode);
        Assert.AreEqual(CutPasteMode.Scar, ((CutPasteSynthesizer)AnomalySynthesizers.Create("cutpaste-scar")).Options.Mode);
    }

    [TestMethod]
    public void NamesAreCaseInsensitive() => Assert.AreEqual("nsa", AnomalySynthesizers.Create(" NSA ").Name);

    [TestMethod]
    public void UnknownNameListsTheValidOnes()
    {
        var ex = Assert.ThrowsExactly<ArgumentException>(() => AnomalySynthesizers.Create("perlin"));
        Assert.AreEqual("name", ex.ParamName);
        StringAssert.Contains(ex.Message, "'perlin'");
        foreach (var name in AnomalySynthesizers.Names) StringAssert.Contains(ex.Message, name);
    }
}
