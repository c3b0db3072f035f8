using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Fsac.MLNet.Benchmarks;

/// <summary>Throughput column: the benchmark's <c>Batch</c> parameter divided by its mean time.</summary>
public sealed class ImagesPerSecondColumn : IColumn
{
    public string Id => nameof(ImagesPerSecondColumn);
    public string ColumnName => "Images/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "Images encoded per second (Batch / Mean)";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
        var batch = benchmarkCase.Parameters["Batch"];
        return meanNs is > 0 && batch is int n ? (n / (meanNs.Value * 1e-9)).ToString("F1") : "-";
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
