namespace Fsac.MLNet.Evaluation;

/// <summary>Aggregates <see cref="EvaluationRecord"/>s over seeds, per category and as the mean over categories (the paper's tables).</summary>
public static class EvaluationSummary
{
    /// <summary>
    /// One row per method × k × category and one per method × k for the mean over categories (<see cref="SummaryRow.Category"/>
    /// null). The mean row first averages the categories within each seed, then takes mean ± std over the seeds, so its std
    /// is the seed-to-seed spread of the benchmark mean. Rows follow the records' order of methods, shots and categories.
    /// The pixel metrics (<see cref="EvaluationRecord.PixelAuroc"/>, <see cref="EvaluationRecord.Aupro"/>) are averaged
    /// over the records that have them: the mean row's over the categories with masks, and each row's mean ± std over
    /// the seeds that have a value; they are null where no record has one.
    /// </summary>
    public static IReadOnlyList<SummaryRow> Summarize(IReadOnlyList<EvaluationRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var rows = new List<SummaryRow>();
        foreach (var method in records.Select(r => r.Method).Distinct())
            foreach (var shots in records.Where(r => r.Method == method).Select(r => r.Shots).Distinct())
            {
                var group = records.Where(r => r.Method == method && r.Shots == shots).ToList();
                foreach (var category in group.Select(r => r.Category).Distinct())
                    rows.Add(Row(method, shots, category, group.Where(r => r.Category == category).ToList()));
                var perSeed = group.GroupBy(r => r.Seed)
                    .Select(g => new EvaluationRecord("", method, shots, g.Key, g.Average(r => r.Auroc), g.Average(r => r.Aupr),
                        g.Average(r => r.F1Max), g.Average(r => r.FitSeconds), g.Average(r => r.ScoreMsPerImage),
                        g.Sum(r => r.TestNormals), g.Sum(r => r.TestAnomalies), MeanOrNull(g, r => r.PixelAuroc), MeanOrNull(g, r => r.Aupro)))
                    .ToList();
                rows.Add(Row(method, shots, null, perSeed));
            }
        return rows;
    }

    private static SummaryRow Row(string method, int shots, string? category, List<EvaluationRecord> seeds)
        => new(method, shots, category,
            MeanStd.Of([.. seeds.Select(r => r.Auroc)]), MeanStd.Of([.. seeds.Select(r => r.Aupr)]), MeanStd.Of([.. seeds.Select(r => r.F1Max)]),
            MeanStd.Of([.. seeds.Select(r => r.FitSeconds)]), MeanStd.Of([.. seeds.Select(r => r.ScoreMsPerImage)]),
            MeanStdOrNull(seeds, r => r.PixelAuroc), MeanStdOrNull(seeds, r => r.Aupro));

    private static double? MeanOrNull(IEnumerable<EvaluationRecord> records, Func<EvaluationRecord, double?> metric)
    {
        var values = records.Select(metric).OfType<double>().ToList();
        return values.Count == 0 ? null : values.Average();
    }

    private static MeanStd? MeanStdOrNull(IEnumerable<EvaluationRecord> records, Func<EvaluationRecord, double?> metric)
    {
        var values = records.Select(metric).OfType<double>().ToList();
        return values.Count == 0 ? null : MeanStd.Of(values);
    }
}
