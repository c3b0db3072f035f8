using System.Text.RegularExpressions;
using Fsac.MLNet.Classifiers;

namespace Fsac.MLNet.Tests.Architecture;

/// <summary>
/// The library's structure as the README's "Repository layout" describes it: dependencies run one way through the
/// rooms of <see cref="Rooms"/>, each room uses only the libraries it is meant to, folders are namespaces, and the
/// README's table names every folder.
/// </summary>
[TestClass]
public partial class ArchitectureTests
{
    private static readonly Lazy<DependencyGraph> Library = new(() => DependencyGraph.Read(typeof(FewShotAnomalyClassifier).Assembly.Location));

    [TestMethod]
    public void EveryNamespaceBelongsToARoom()
    {
        var unplaced = Library.Value.Types.Select(t => t.Namespace).Distinct().Where(ns => Rooms.Of(ns) is null).Order().ToList();
        Assert.IsEmpty(unplaced, "namespaces no room of Rooms.Ordered holds: " + string.Join(", ", unplaced));
    }

    [TestMethod]
    public void DependenciesRunOneWay()
    {
        var upward = Rooms.UpwardEdges(Library.Value.Edges);
        Assert.IsEmpty(upward, "dependencies against the rooms' order:\n" + string.Join("\n", upward));
    }

    [TestMethod]
    public void AnUpwardEdgeIsCaught()
    {
        // The check itself: the native runtime using a classifier, or the head using the ML.NET glue, must be reported,
        // and an edge down the order must not.
        var edges = new Dictionary<(string From, string To), IReadOnlySet<string>>
        {
            [("Fsac.MLNet.Native", "Fsac.MLNet.Classifiers")] = new HashSet<string> { "TorchRuntime -> PatchCoreClassifier" },
            [("Fsac.MLNet.Head", "Fsac.MLNet")] = new HashSet<string> { "FsacHead -> FewShotAnomalyOptions" },
            [("Fsac.MLNet.Classifiers", "Fsac.MLNet.Native")] = new HashSet<string> { "PatchCoreClassifier -> TorchRuntime" },
        };
        var upward = Rooms.UpwardEdges(edges);
        Assert.HasCount(2, upward, string.Join("\n", upward));
        Assert.IsTrue(upward.Any(v => v.StartsWith("Fsac.MLNet.Native ", StringComparison.Ordinal)));
        Assert.IsTrue(upward.Any(v => v.StartsWith("Fsac.MLNet.Head ", StringComparison.Ordinal)));
    }

    [TestMethod]
    public void EachRoomUsesOnlyItsLibraries()
    {
        var misuse = new List<string>();
        foreach (var (ns, assemblies) in Library.Value.Externals)
        {
            var room = Rooms.Of(ns);
            if (room is null) continue;
            var extra = assemblies.Where(a => !room.Assemblies.Contains(a)).Order().ToList();
            if (extra.Count > 0) misuse.Add($"{ns} ({room.Name}) uses {string.Join(", ", extra)}");
        }
        Assert.IsEmpty(misuse, string.Join("\n", misuse));
    }

    [TestMethod]
    public void FoldersAreNamespaces()
    {
        var src = Path.Combine(SharedData.RepositoryRoot, "src", "Fsac.MLNet");
        var wrong = new List<string>();
        foreach (var file in SourceFiles(src))
        {
            var folder = Path.GetRelativePath(src, Path.GetDirectoryName(file)!);
            var expected = folder == "." ? null : "Fsac.MLNet." + folder.Replace(Path.DirectorySeparatorChar, '.');
            var declared = NamespaceLine().Match(File.ReadAllText(file)).Groups["ns"].Value;
            if (expected is null ? declared is not ("Fsac.MLNet" or "Microsoft.ML") : declared != expected)
                wrong.Add($"{Path.GetRelativePath(src, file)} declares '{declared}'");
        }
        Assert.IsEmpty(wrong, string.Join("\n", wrong));
    }

    [TestMethod]
    public void TheReadmeLayoutNamesEveryFolder()
    {
        var root = SharedData.RepositoryRoot;
        var readme = File.ReadAllText(Path.Combine(root, "README.md"));
        var src = Path.Combine(root, "src", "Fsac.MLNet");
        var folders = SourceFiles(src).Select(f => Path.GetRelativePath(src, Path.GetDirectoryName(f)!)).Where(f => f != ".")
            .Select(f => f.Replace(Path.DirectorySeparatorChar, '/')).Distinct().Order().ToList();
        var missing = folders.Where(f => !readme.Contains($"`{f}/`", StringComparison.Ordinal)).ToList();
        Assert.IsEmpty(missing, "README's Repository layout does not name: " + string.Join(", ", missing));
    }

    private static IEnumerable<string> SourceFiles(string src)
        => Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(src, f).Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"));

    [GeneratedRegex(@"^namespace (?<ns>[\w.]+);", RegexOptions.Multiline)]
    private static partial Regex NamespaceLine();
}
