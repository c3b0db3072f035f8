using Fsac.MLNet.Files;
using Fsac.MLNet.Tests.Checkpoints;
using Fsac.Cli.Inputs;

namespace Fsac.MLNet.Tests.Cli;

/// <summary>
/// <see cref="ImageFiles.Expand"/> on hostile trees: links back up the tree, a second route to a folder, a file reachable
/// twice, and links that lead nowhere. It must end, and list each file once.
/// </summary>
[TestClass]
public class ImageFilesTests
{
    /// <summary>
    /// imgs/b.png, imgs/sub/c.png; imgs/sub/up -> imgs (a loop), imgs/twin -> imgs/sub (a second route),
    /// imgs/alias.png -> imgs/b.png (the same file again), imgs/broken.png -> nothing, imgs/ping -> pong -> ping.
    /// </summary>
    private static string HostileTree(TempDir dir)
    {
        var imgs = Directory.CreateDirectory(dir.File("imgs")).FullName;
        var sub = Directory.CreateDirectory(Path.Combine(imgs, "sub")).FullName;
        File.WriteAllBytes(Path.Combine(imgs, "b.png"), [1]);
        File.WriteAllBytes(Path.Combine(sub, "c.png"), [2]);
        Directory.CreateSymbolicLink(Path.Combine(sub, "up"), "..");
        Directory.CreateSymbolicLink(Path.Combine(imgs, "twin"), sub);
        File.CreateSymbolicLink(Path.Combine(imgs, "alias.png"), "b.png");
        File.CreateSymbolicLink(Path.Combine(imgs, "broken.png"), Path.Combine(imgs, "missing.png"));
        File.CreateSymbolicLink(Path.Combine(imgs, "ping"), "pong");
        File.CreateSymbolicLink(Path.Combine(imgs, "pong"), "ping");
        return imgs;
    }

    /// <summary>Runs <paramref name="expand"/> on a worker thread, failing the test rather than hanging if it does not end.</summary>
    private static IReadOnlyList<string> WithinSeconds(Func<IReadOnlyList<string>> expand)
    {
        var work = Task.Run(expand);
        Assert.IsTrue(work.Wait(TimeSpan.FromSeconds(30)), "the expansion did not end: a symbolic link loop was followed");
        return work.Result;
    }

    [TestMethod]
    public void ALinkLoopEndsAndEachFileIsListedOnceUnderTheFirstPathThatReachesIt()
    {
        using var dir = new TempDir();
        var imgs = HostileTree(dir);

        var files = WithinSeconds(() => ImageFiles.Expand([imgs], "images"));

        // Ordinal depth-first order: alias.png (= b.png) comes before b.png; sub/ is walked, twin/ (the same folder) is not.
        CollectionAssert.AreEqual(new[] { Path.Combine(imgs, "alias.png"), Path.Combine(imgs, "sub", "c.png") }, files.ToArray());
    }

    [TestMethod]
    public void AFileGivenAndFoundInAGivenFolderOrThroughALinkedFolderIsListedOnce()
    {
        using var dir = new TempDir();
        var imgs = HostileTree(dir);
        var b = Path.Combine(imgs, "b.png");

        var files = WithinSeconds(() => ImageFiles.Expand([b, imgs, Path.Combine(imgs, "twin"), Path.Combine(imgs, "twin", "c.png")], "images"));

        CollectionAssert.AreEqual(new[] { b, Path.Combine(imgs, "sub", "c.png") }, files.ToArray());
    }

    [TestMethod]
    public void AGivenLinkToAFolderIsWalkedAndItsLoopEnds()
    {
        using var dir = new TempDir();
        var imgs = HostileTree(dir);
        var twin = Path.Combine(imgs, "twin");

        var files = WithinSeconds(() => ImageFiles.Expand([twin], "images"));

        // twin/up leads back to imgs, which is walked once: b.png (as alias.png) is found through it.
        CollectionAssert.AreEqual(new[] { Path.Combine(twin, "c.png"), Path.Combine(twin, "up", "alias.png") }, files.ToArray());
    }

    [TestMethod]
    public void CanonicalPathsResolveLinksInEveryPart()
    {
        using var dir = new TempDir();
        var imgs = HostileTree(dir);
        var real = Path.Combine(imgs, "sub", "c.png");

        Assert.AreEqual(CanonicalPath.Of(real), CanonicalPath.Of(Path.Combine(imgs, "twin", "up", "twin", "c.png")));
        Assert.AreEqual(CanonicalPath.Of(Path.Combine(imgs, "b.png")), CanonicalPath.Of(Path.Combine(imgs, "alias.png")));
        Assert.IsNull(CanonicalPath.Of(Path.Combine(imgs, "ping")), "a loop of links has no canonical path");
        Assert.IsNull(CanonicalPath.OfExisting(Path.Combine(imgs, "broken.png")), "a dangling link leads nowhere");
        Assert.AreEqual(Path.Combine(CanonicalPath.Of(imgs)!, "missing.png"), CanonicalPath.Of(Path.Combine(imgs, "broken.png")));
    }
}
