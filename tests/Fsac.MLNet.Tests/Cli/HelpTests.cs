namespace Fsac.MLNet.Tests.Cli;

/// <summary>
/// <c>fsac --help</c> and every command's <c>--help</c> render: no description holds Spectre markup it cannot parse
/// (a literal "[N, 3, H, W]" must be written "[[N, 3, H, W]]").
/// </summary>
[TestClass]
public sealed class HelpTests
{
    [TestMethod]
    public void EveryCommandsHelp_RendersWithoutError()
    {
        var root = CliRunner.Run("--help");
        Assert.AreEqual(0, root.ExitCode, root.ToString());
        var lines = root.Output.ReplaceLineEndings("\n").Split('\n');
        var commands = lines.SkipWhile(l => !l.StartsWith("COMMANDS", StringComparison.Ordinal)).Skip(1)
            .Where(l => l.StartsWith("    ", StringComparison.Ordinal) && l.Trim().Length > 0)
            .Select(l => l.Trim().Split(' ')[0]).ToArray();
        CollectionAssert.IsSubsetOf(new[] { "fit", "predict", "export", "eval" }, commands, root.Output);
        foreach (var command in commands)
        {
            var help = CliRunner.Run(command, "--help");
            Assert.AreEqual(0, help.ExitCode, $"{command} --help: {help}");
            Assert.AreEqual("", help.Error, $"{command} --help writes nothing to stderr");
            StringAssert.Contains(help.Output, "USAGE:", $"{command} --help");
        }
    }
}
