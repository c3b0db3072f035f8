using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Files;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace Fsac.MLNet.Encoders.Clip;

/// <summary>
/// Downloads published CLIP weights once into a local cache and verifies them. Bytes go to
/// <c>&lt;file&gt;.partial</c>; an interrupted download resumes with an HTTP Range request when the server
/// supports it (206) and restarts otherwise. The SHA-256 is checked (in full, or the published prefix); a
/// mismatch deletes the partial file and throws <see cref="ChecksumMismatchException"/>. The verified file is
/// renamed into place, its digest written beside it as <c>&lt;file&gt;.sha256</c>, and later calls return the
/// cached path without touching the network.
/// </summary>
internal sealed class ClipDownloader : IDisposable
{
    private const string PartialSuffix = ".partial";
    private const string HashSuffix = ".sha256";

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly Uri? _baseUrlOverride;

    /// <summary>Creates a downloader.</summary>
    /// <param name="httpClient">The client to send requests with (not disposed by this downloader); null for an own one.</param>
    /// <param name="baseUrlOverride">
    /// When set, requests go to this origin instead of the published one, with the published path
    /// (a mirror, or a local server in tests).
    /// </param>
    public ClipDownloader(HttpClient? httpClient = null, Uri? baseUrlOverride = null)
    {
        _ownsHttp = httpClient is null;
        _http = httpClient ?? CreateDefaultClient();
        _baseUrlOverride = baseUrlOverride;
    }

    private static HttpClient CreateDefaultClient()
    {
        var http = new HttpClient();
        var version = typeof(ClipDownloader).Assembly.GetName().Version?.ToString(3) ?? "0";
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Fsac.MLNet", version));
        return http;
    }

    /// <summary>
    /// The cache root: <paramref name="cacheDir"/> when given, else the <c>FSAC_CACHE</c> environment variable,
    /// else <c>~/.cache/fsac</c>.
    /// </summary>
    public static string CacheRoot(string? cacheDir = null)
    {
        if (!string.IsNullOrEmpty(cacheDir)) return cacheDir;
        var env = Environment.GetEnvironmentVariable("FSAC_CACHE");
        if (!string.IsNullOrEmpty(env)) return env;
        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "fsac");
    }

    /// <summary>Where <paramref name="weights"/> are cached: <c>&lt;root&gt;/&lt;model&gt;/&lt;tag&gt;/&lt;file name&gt;</c>.</summary>
    public static string CachePath(ClipPretrainedWeights weights, string? cacheDir = null)
        => Path.Combine(CacheRoot(cacheDir), weights.Model, weights.Tag, weights.FileName);

    /// <summary>
    /// The local path of <paramref name="weights"/>, downloading and verifying them first unless cached.
    /// A cached file without its <c>.sha256</c> record (placed there by hand) is hashed once and, if it does not
    /// match the published hash, fetched again.
    /// </summary>
    /// <param name="weights">What to fetch, usually from <see cref="ClipPretrained.Get"/>.</param>
    /// <param name="cacheDir">Cache root; see <see cref="CacheRoot"/>.</param>
    /// <param name="progress">Told the bytes received after each chunk.</param>
    /// <param name="ct">Cancels the download; the partial file is kept for a later resume.</param>
    /// <exception cref="ChecksumMismatchException">The bytes received do not have the published SHA-256.</exception>
    /// <exception cref="HttpRequestException">The server refused or failed the request.</exception>
    /// <exception cref="IOException">The connection broke off; calling again resumes.</exception>
    public Task<string> DownloadAsync(ClipPretrainedWeights weights, string? cacheDir = null,
                                      IProgress<DownloadProgress>? progress = null, CancellationToken ct = default)
        => DownloadAsync(weights.Url, weights.Sha256, CachePath(weights, cacheDir), progress, ct);

    /// <summary>
    /// Downloads <paramref name="url"/> to <paramref name="target"/> unless it is already there, verifying
    /// <paramref name="sha256"/> (a full digest or a prefix; null: recorded after the first download). Same
    /// caching, resume and verification rules as the weights overload.
    /// </summary>
    public async Task<string> DownloadAsync(Uri url, string? sha256, string target,
                                           IProgress<DownloadProgress>? progress = null, CancellationToken ct = default)
    {
        if (File.Exists(target))
        {
            if (File.Exists(target + HashSuffix)) return target;
            var cachedHash = await HashFileAsync(target, ct).ConfigureAwait(false);
            if (Matches(sha256, cachedHash))
            {
                await WriteHashRecordAsync(target, cachedHash, ct).ConfigureAwait(false);
                return target;
            }
            File.Delete(target);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var source = _baseUrlOverride is null ? url : new Uri(_baseUrlOverride, url.PathAndQuery);
        var partial = target + PartialSuffix;
        await FetchAsync(source, partial, progress, ct).ConfigureAwait(false);

        var hash = await HashFileAsync(partial, ct).ConfigureAwait(false);
        if (!Matches(sha256, hash))
        {
            File.Delete(partial);
            throw new ChecksumMismatchException(source, sha256!.ToLowerInvariant(), hash);
        }
        await WriteHashRecordAsync(target, hash, ct).ConfigureAwait(false);
        File.Move(partial, target, overwrite: true);
        return target;
    }

    private async Task FetchAsync(Uri url, string partial, IProgress<DownloadProgress>? progress, CancellationToken ct)
    {
        long existing = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            if (existing > 0) request.Headers.Range = new RangeHeaderValue(existing, null);
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);

            bool resume = response.StatusCode == HttpStatusCode.PartialContent;
            if (existing > 0 && (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable
                                 || (resume && response.Content.Headers.ContentRange?.From != existing)))
            {
                // The partial file does not fit what the server has now: start over.
                File.Delete(partial);
                existing = 0;
                continue;
            }
            if (!response.IsSuccessStatusCode || (resume && existing == 0))
                throw new HttpRequestException(
                    $"Downloading {url} failed: HTTP {(int)response.StatusCode} {response.ReasonPhrase}.", null, response.StatusCode);

            long done = resume ? existing : 0;
            long? total = resume
                ? response.Content.Headers.ContentRange?.Length ?? existing + response.Content.Headers.ContentLength
                : response.Content.Headers.ContentLength;
            var file = new FileStream(partial, resume ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            await using (file.ConfigureAwait(false))
            {
                var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                await using var bodyDisposal = body.ConfigureAwait(false);
                progress?.Report(new DownloadProgress(done, total));
                var buffer = new byte[1 << 16];
                int n;
                while ((n = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
                {
                    await file.WriteAsync(buffer.AsMemory(0, n), ct).ConfigureAwait(false);
                    done += n;
                    progress?.Report(new DownloadProgress(done, total));
                }
            }
            if (total is { } expected && done != expected)
                throw new IOException($"Downloading {url} ended after {done} of {expected} bytes; call again to resume.");
            return;
        }
    }

    /// <summary>
    /// The full SHA-256 recorded beside <paramref name="target"/> when this downloader fetched and verified it
    /// (the <c>.sha256</c> file, sha256sum format), or null when there is no record.
    /// </summary>
    internal static string? RecordedSha256(string target)
    {
        var record = target + HashSuffix;
        if (!File.Exists(record)) return null;
        var hex = File.ReadAllText(record).Split(' ', 2)[0].Trim();
        return hex.Length == 64 && hex.All(Uri.IsHexDigit) ? hex.ToLowerInvariant() : null;
    }

    private static bool Matches(string? expected, string actual)
        => expected is null || actual.StartsWith(expected, StringComparison.OrdinalIgnoreCase);

    private static async Task<string> HashFileAsync(string path, CancellationToken ct)
    {
        var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        await using var fsDisposal = fs.ConfigureAwait(false);
        var digest = await SHA256.HashDataAsync(fs, ct).ConfigureAwait(false);
        return Convert.ToHexStringLower(digest);
    }

    // The sha256sum format: "<hex>  <file name>".
    private static Task WriteHashRecordAsync(string target, string hash, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var line = System.Text.Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{hash}  {Path.GetFileName(target)}\n"));
        Files.AtomicFile.Write(target + HashSuffix, stream => stream.Write(line));
        return Task.CompletedTask;
    }

    /// <summary>Disposes the HTTP client if this downloader created it.</summary>
    public void Dispose()
    {
        if (_ownsHttp) _http.Dispose();
    }
}
