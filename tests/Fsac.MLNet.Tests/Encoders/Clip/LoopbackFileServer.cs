using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Fsac.MLNet.Tests.Encoders.Clip;

/// <summary>
/// A minimal HTTP server on 127.0.0.1 (never another address) serving byte arrays by path, for downloader
/// tests. It honours "Range: bytes=N-" with 206 when <see cref="SupportsRange"/>, can break off its first
/// response half-way, and records every request.
/// </summary>
internal sealed class LoopbackFileServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, byte[]> _files = new(StringComparer.Ordinal);
    private readonly Task _loop;
    private int _breaksLeft;

    public LoopbackFileServer()
    {
        int port;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        BaseUrl = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(BaseUrl.ToString());
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public Uri BaseUrl { get; }

    public bool SupportsRange { get; set; } = true;

    /// <summary>The requests received: path and Range header (null when absent).</summary>
    public ConcurrentQueue<(string Path, string? Range)> Requests { get; } = new();

    public Uri Serve(string path, byte[] content)
    {
        _files[path] = content;
        return new Uri(BaseUrl, path);
    }

    /// <summary>The next <paramref name="count"/> responses stop after half their body and drop the connection.</summary>
    public void BreakOffNext(int count) => _breaksLeft = count;

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            try { await RespondAsync(ctx); }
            catch (Exception e) when (e is HttpListenerException or IOException) { /* the client went away */ }
        }
    }

    private async Task RespondAsync(HttpListenerContext ctx)
    {
        var path = ctx.Request.Url!.AbsolutePath;
        var range = ctx.Request.Headers["Range"];
        Requests.Enqueue((path, range));
        var response = ctx.Response;
        if (!_files.TryGetValue(path, out var content))
        {
            response.StatusCode = 404;
            response.Close();
            return;
        }
        long from = 0;
        if (SupportsRange && range is not null && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            from = long.Parse(range["bytes=".Length..^1]);
            if (from >= content.Length)
            {
                response.StatusCode = 416;
                response.Headers["Content-Range"] = $"bytes */{content.Length}";
                response.Close();
                return;
            }
            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {from}-{content.Length - 1}/{content.Length}";
        }
        var body = content.AsMemory((int)from);
        response.ContentLength64 = body.Length;
        if (Interlocked.Decrement(ref _breaksLeft) >= 0)
        {
            await response.OutputStream.WriteAsync(body[..(body.Length / 2)]);
            await response.OutputStream.FlushAsync();
            response.Abort();
            return;
        }
        await response.OutputStream.WriteAsync(body);
        response.Close();
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
