namespace Fsac.MLNet.Tests.TestDoubles;

/// <summary>A synchronous <see cref="IProgress{T}"/> that records every report (Progress&lt;T&gt; posts asynchronously).</summary>
public sealed class ListProgress<T> : IProgress<T>
{
    public List<T> Reports { get; } = [];
    public void Report(T value) => Reports.Add(value);
}
