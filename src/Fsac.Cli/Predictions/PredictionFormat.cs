namespace Fsac.Cli.Predictions;

/// <summary>How <c>fsac predict</c> prints its results.</summary>
public enum PredictionFormat
{
    /// <summary>A table for people.</summary>
    Table,

    /// <summary>CSV with a header: image,score,anomalous,heatmap,error.</summary>
    Csv,

    /// <summary>One JSON object: model, backbone, threshold and a predictions array.</summary>
    Json,
}
