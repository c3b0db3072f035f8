using Fsac.MLNet.Native;
using System.Reflection;
using System.Text.RegularExpressions;
using Fsac.Cli;

namespace Fsac.MLNet.Tests.Cli;

/// <summary>How <see cref="ErrorReporter"/> writes an error (one plain line on stderr) and which exit code it returns.</summary>
[TestClass]
public class ErrorReporterTests
{
    private static (int Code, string[] Lines) Report(Exception e, params string[] args)
    {
        var errors = new StringWriter();
        int code = ErrorReporter.Report(e, args, new ErrorConsole(errors));
        return (code, errors.ToString().ReplaceLineEndings("\n").TrimEnd('\n').Split('\n'));
    }

    [TestMethod]
    public void ALongPathStaysWholeOnOneUnstyledLineWithItsHint()
    {
        var path = "/" + string.Join("/", Enumerable.Range(0, 30).Select(i => $"folder-{i:D2}")) + "/model.fsac";
        var (code, lines) = Report(new FileNotFoundException($"Model not found: '{path}'.", path));

        Assert.AreEqual(ExitCodes.BadInput, code);
        Assert.HasCount(1, lines);
        Assert.AreEqual($"error: Model not found: '{path}'. (hint: check the path)", lines[0]);
    }

    [TestMethod]
    public void LineBreaksBecomeSpacesAndTerminalEscapesAreShownNotSent()
    {
        var (_, lines) = Report(new InvalidDataException("first\nsecond\r\n\tthird: '\u001b[31mred.png'"));

        Assert.HasCount(1, lines);
        Assert.AreEqual("error: first second third: '\\u001b[31mred.png'", lines[0]);
    }

    [TestMethod]
    public void EnvironmentErrorsAreExit2AndOnlyBugsAreExit1()
    {
        var cases = new (Exception Error, int Code)[]
        {
            (new UnauthorizedAccessException("Access to the path '/ro/x' is denied."), ExitCodes.BadInput),
            (new OutputFileException("/ro/model.fsac", new UnauthorizedAccessException()), ExitCodes.BadInput),
            (new IOException("No space left on device"), ExitCodes.BadInput),
            (new ModelFileException("Cannot read model 'm.fsac'", new Exception()), ExitCodes.BadInput),
            (new NativeRuntimeException("libtorch could not be loaded", null), ExitCodes.NativeRuntime),
            (new OperationCanceledException(), ExitCodes.Cancelled),
            (new NullReferenceException("a bug"), ExitCodes.Failure),
        };
        foreach (var (error, expected) in cases)
        {
            var (code, lines) = Report(error);
            Assert.AreEqual(expected, code, error.GetType().Name);
            Assert.HasCount(1, lines, error.GetType().Name);
            StringAssert.StartsWith(lines[0], "error: " + error.Message, error.GetType().Name);
        }
    }

    [TestMethod]
    public void AnOutputThatCannotBeWrittenIsNamedNotItsTempFile()
    {
        var (_, lines) = Report(new OutputFileException("/ro/model.fsac", new UnauthorizedAccessException("Access to the path '/ro/.model.fsac.1.ab.tmp' is denied.")));

        StringAssert.StartsWith(lines[0], "error: Cannot write '/ro/model.fsac': permission denied. (hint: ");
        Assert.DoesNotContain(".tmp", lines[0]);
    }

    [TestMethod]
    public void ABugSaysHowToGetTheStackTraceAndVerboseGivesIt()
    {
        Exception bug;
        try { throw new NullReferenceException("a bug"); }
        catch (Exception e) { bug = e; }

        var (code, quiet) = Report(bug, "fit");
        Assert.AreEqual(ExitCodes.Failure, code);
        Assert.HasCount(1, quiet);
        Assert.AreEqual("error: a bug (hint: rerun with --verbose for the stack trace)", quiet[0]);

        var (_, verbose) = Report(bug, "fit", "--verbose");
        Assert.AreEqual("error: a bug", verbose[0]);
        Assert.IsTrue(verbose.Skip(1).Any(l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal)), string.Join("\n", verbose));
    }

    [TestMethod]
    public void EveryExitCodeIsInTheReadmeTable()
    {
        var readme = File.ReadAllText(Path.Combine(SharedData.RepositoryRoot, "README.md"));
        var documented = Regex.Matches(readme, @"^\| (\d+) \|", RegexOptions.Multiline).Select(m => int.Parse(m.Groups[1].Value)).ToHashSet();
        var codes = typeof(ExitCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (int)f.GetValue(null)!).ToList();
        Assert.HasCount(5, codes);
        foreach (var code in codes) Assert.Contains(code, documented, $"exit code {code} is not in the README's table");
    }
}
