using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.Tests.Checkpoints;
using System.Security.Cryptography;

namespace Fsac.MLNet.Tests.Encoders.Clip;

[TestClass]
public class ClipDownloaderTests
{
    private const string ServedPath = "/v0.2-weights/tiny-vit-test.bin";

    private static readonly Lazy<byte[]> Content = new(() => File.ReadAllBytes(SharedData.Path("clip-reference", "tiny-vit", "open_clip_pytorch_model.bin")));

    private static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static void AssertFileHolds(byte[] expected, string path)
    {
        var actual = File.ReadAllBytes(path);
        Assert.AreEqual(expected.Length, actual.Length, "file length");
        Assert.IsTrue(expected.AsSpan().SequenceEqual(actual), "file content differs");
    }

    private static ClipPretrainedWeights Weights(Uri url, string? sha256)
        => new("Tiny-ViT", "test_tag", url, sha256, QuickGelu: false, [0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f]);

    /// <summary>Records every report synchronously (Progress&lt;T&gt; would post them to the thread pool).</summary>
    private sealed class Recorder : IProgress<DownloadProgress>
    {
        public List<DownloadProgress> Reports { get; } = [];
        public void Report(DownloadProgress value) => Reports.Add(value);
    }

    [TestMethod]
    public async Task FirstCallDownloadsAndVerifiesSecondMakesNoRequest()
    {
        using var server = new LoopbackFileServer();
        using var cache = new TempDir();
        using var downloader = new ClipDownloader();
        var bytes = Content.Value;
        var weights = Weights(server.Serve(ServedPath, bytes), Sha256Hex(bytes));

        var path = await downloader.DownloadAsync(weights, cache.Path);

        Assert.AreEqual(Path.Combine(cache.Path, "Tiny-ViT", "test_tag", "tiny-vit-test.bin"), path);
        Assert.AreEqual(ClipDownloader.CachePath(weights, cache.Path), path);
        AssertFileHolds(bytes, path);
        Assert.AreEqual($"{Sha256Hex(bytes)}  tiny-vit-test.bin\n", File.ReadAllText(path + ".sha256"));
        Assert.IsFalse(File.Exists(path + ".partial"));
        Assert.HasCount(1, server.Requests);
        Assert.IsNull(server.Requests.Single().Range);

        Assert.AreEqual(path, await downloader.DownloadAsync(weights, cache.Path));
        Assert.HasCount(1, server.Requests, "the cached file must be returned without a request");
    }

    [TestMethod]
    public async Task PublishedHashPrefixIsAccepted()
    {
        using var server = new LoopbackFileServer();
        using var cache = new TempDir();
        using var downloader = new ClipDownloader();
        var bytes = Content.Value;

        var path = await downloader.DownloadAsync(Weights(server.Serve(ServedPath, bytes), Sha256Hex(bytes)[..8].ToUpperInvariant()), cache.Path);

        AssertFileHolds(bytes, path);
    }

    [TestMethod]
    public async Task PartialFileIsResumedWithARangeRequest()
    {
        using var server = new LoopbackFileServer();
        using var cache = new TempDir();
        using var downloader = new ClipDownloader();
        var bytes = Content.Value;
        var weights = Weights(server.Serve(ServedPath, bytes), Sha256Hex(bytes));
        var target = ClipDownloader.CachePath(weights, cache.Path);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        int half = bytes.Length / 2;
        File.WriteAllBytes(target + ".partial", bytes[..half]);
        var progress = new Recorder();

        var path = await downloader.DownloadAsync(weights, cache.Path, progress);

        AssertFileHolds(bytes, path);
        Assert.AreEqual($"bytes={half}-", server.Requests.Single().Range);
        Assert.AreEqual(new DownloadProgress(half, bytes.Length), progress.Reports[0]);
        Assert.AreEqual(new DownloadProgress(bytes.Length, bytes.Length), progress.Reports[^1]);
    }

    [TestMethod]
    public async Task PartialFileIsReplacedWhenTheServerIgnoresRange()
    {
        using var server = new LoopbackFileServer { SupportsRange = false };
        using var cache = new TempDir();
        using var downloader = new ClipDownloader();
        var bytes = Content.Value;
        var weights = Weights(server.Serve(ServedPath, bytes), Sha256Hex(bytes));
        var target = ClipDownloader.CachePath(weights, cache.Path);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.WriteAllBytes(target + ".partial", new byte[1000]); // not even a prefix of the file

        var path = await downloader.DownloadAsync(weights, cache.Path);

        AssertFileHolds(bytes, path);
        Assert.AreEqual("bytes=1000-", server.Requests.Single().Range);
    }

    [TestMethod]
    public async Task PartialFileLongerThanTheServersIsRestarted()
    {
        using var server = new LoopbackFileServer();
        using var cache = new TempDir();
        using var downloader = new ClipDownloader();
        var bytes = Content.Value[..5000];
        var weights = Weights(server.Serve(ServedPath, bytes), Sha256Hex(bytes));
        var target = ClipDownloader.CachePath(weights, cache.Path);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        File.WriteAllBytes(target + ".partial", new byte[6000]);

        var path = await downloader.DownloadAsync(weights, cache.Path);

        AssertFileHolds(bytes, path);
        CollectionAssert.AreEqual(new[] { "bytes=6000-", null }, server.Requests.Select(r => r.Range).ToList());
    }

    [TestMethod]
    public async Task BrokenOffDownloadKeepsItsPartAndTheNextCallResumes()
    {
        using var server = new LoopbackFileServer();
        using var cache = new TempDir();
        using var downloader = new ClipDownloader();
        var bytes = Content.Value;
        var weights = Weights(server.Serve(ServedPath, bytes), Sha256Hex(bytes));
        var target = ClipDownloader.CachePath(weights, cache.Path);
        server.BreakOffNext(1);

        var broken = await Assert.ThrowsAsync<Exception>(() => downloader.DownloadAsync(weights, cache.Path));
        Assert.IsTrue(broken is IOException or HttpRequestException, broken.ToString());
        Assert.IsFalse(File.Exists(target));
        long kept = new FileInfo(target + ".partial").Length;
        Assert.IsTrue(kept > 0 && kept < bytes.Length, $"kept {kept} bytes");

        var path = await downloader.DownloadAsync(weights, cache.Path);

        AssertFileHolds(bytes, path);
        CollectionAssert.AreEqual(new[] { null, $"bytes={kept}-" }, server.Requests.Select(r => r.Range).ToList());
    }

    [TestMethod]
    public async Task WrongHashThrowsAndLeavesNothingInTheCache()
    {
        using var server = new LoopbackFileServer();
        using var cache = new TempDir();
        using var downloader = new ClipDownloader();
        var bytes = Content.Value;
        var servedHash = Sha256Hex(bytes);
        var wrong = servedHash[0] == '0' ? "1" + servedHash[1..8] : "0" + servedHash[1..8];
        var weights = Weights(server.Serve(ServedPath, bytes), wrong);

        var e = await Assert.ThrowsExactlyAsync<ChecksumMismatchException>(() => downloader.DownloadAsync(weights, cache.Path));

        var reportedExpectation = e.ExpectedSha256;
        Assert.AreEqual(wrong, reportedExpectation);
        Assert.AreEqual(servedHash, e.ActualSha256);
        Assert.AreEqual(weights.Url, e.Url);
        Assert.IsEmpty(Directory.GetFiles(cache.Path, "*", SearchOption.AllDirectories));
    }

    [TestMethod]
    public async Task ProgressReportsIncreasingBytesUpToTheTotal()
    {
        using var server = new LoopbackFileServer();
        using var cache = new TempDir();
        using var downloader = new ClipDownloader();
        var bytes = Content.Value;
        var progress = new Recorder();

        await downloader.DownloadAsync(Weights(server.Serve(ServedPath, bytes), null), cache.Path, progress);

        Assert.IsGreaterThan(2, progress.Reports.Count);
        Assert.AreEqual(0, progress.Reports[0].BytesReceived);
        for (int i = 1; i < progress.Reports.Count; i++)
            Assert.IsGreaterThan(progress.Reports[i - 1].BytesReceived, progress.Reports[i].BytesReceived);
        Assert.AreEqual(bytes.Length, progress.Reports[^1].BytesReceived);
        Assert.IsTrue(progress.Reports.All(r => r.TotalBytes == bytes.Length));
    }

    [TestMethod]
    public async Task HttpErrorsAreReportedAndNothingIsCached()
    {
        using var server = new LoopbackFileServer();
        using var cache = new TempDir();
        using var http = new HttpClient();
        var downloader = new ClipDownloader(http);

        var e = await Assert.ThrowsExactlyAsync<HttpRequestException>(
            () => downloader.DownloadAsync(Weights(new Uri(server.BaseUrl, "/missing.bin"), null), cache.Path));

        StringAssert.Contains(e.Message, "404");
        Assert.IsFalse(File.Exists(Path.Combine(cache.Path, "Tiny-ViT", "test_tag", "missing.bin")));

        // An injected client is the caller's: still usable after the downloader is disposed.
        downloader.Dispose();
        server.Serve(ServedPath, [1, 2, 3]);
        CollectionAssert.AreEqual(new byte[] { 1, 2, 3 }, await http.GetByteArrayAsync(new Uri(server.BaseUrl, ServedPath)));
    }

    [TestMethod]
    public async Task HandPlacedFileIsVerifiedOnceAndReplacedWhenWrong()
    {
        using var server = new LoopbackFileServer();
        using var cache = new TempDir();
        using var downloader = new ClipDownloader();
        var bytes = Content.Value;
        var weights = Weights(server.Serve(ServedPath, bytes), Sha256Hex(bytes));
        var target = ClipDownloader.CachePath(weights, cache.Path);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);

        File.WriteAllBytes(target, bytes);
        Assert.AreEqual(target, await downloader.DownloadAsync(weights, cache.Path));
        Assert.IsEmpty(server.Requests);
        StringAssert.StartsWith(File.ReadAllText(target + ".sha256"), Sha256Hex(bytes));

        File.Delete(target + ".sha256");
        File.WriteAllBytes(target, bytes[..100]);
        Assert.AreEqual(target, await downloader.DownloadAsync(weights, cache.Path));
        Assert.HasCount(1, server.Requests);
        AssertFileHolds(bytes, target);
    }

    // A registry entry without a published hash, fetched through the base-URL override, then read.
    [TestMethod]
    public async Task RegistryEntryDownloadsThroughTheOverrideAndStoresItsHash()
    {
        using var server = new LoopbackFileServer();
        using var cache = new TempDir();
        using var downloader = new ClipDownloader(baseUrlOverride: server.BaseUrl);
        var weights = ClipPretrained.Get("ViT-B-16", "laion2b_s34b_b88k");
        Assert.IsNull(weights.Sha256);
        var bytes = Content.Value;
        server.Serve(weights.Url.AbsolutePath, bytes);

        var path = await downloader.DownloadAsync(weights, cache.Path);

        Assert.AreEqual(Path.Combine(cache.Path, "ViT-B-16", "laion2b_s34b_b88k", "open_clip_pytorch_model.bin"), path);
        Assert.AreEqual("/laion/CLIP-ViT-B-16-laion2B-s34B-b88K/resolve/main/open_clip_pytorch_model.bin", server.Requests.Single().Path);
        StringAssert.StartsWith(File.ReadAllText(path + ".sha256"), Sha256Hex(bytes));
        StateDictAssert.AreIdentical(
            SafeTensors.Read(SharedData.Path("clip-reference", "tiny-vit", "open_clip_model.safetensors")),
            CheckpointReader.ReadStateDict(path));
    }

    [TestMethod]
    [DoNotParallelize]
    public void CacheRootComesFromTheArgumentThenFsacCacheThenHome()
    {
        var saved = Environment.GetEnvironmentVariable("FSAC_CACHE");
        try
        {
            Environment.SetEnvironmentVariable("FSAC_CACHE", "/somewhere/cache");
            Assert.AreEqual("/explicit", ClipDownloader.CacheRoot("/explicit"));
            Assert.AreEqual("/somewhere/cache", ClipDownloader.CacheRoot());
            Environment.SetEnvironmentVariable("FSAC_CACHE", null);
            Assert.AreEqual(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "fsac"), ClipDownloader.CacheRoot());
        }
        finally
        {
            Environment.SetEnvironmentVariable("FSAC_CACHE", saved);
        }
    }
}
