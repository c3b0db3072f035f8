namespace Fsac.MLNet.Evaluation;

/// <summary>The data cannot be evaluated as asked (e.g. fewer normal images than shots); thrown before any work starts.</summary>
public sealed class EvaluationSetupException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, naming the category.</param>
    /// <param name="hint">What to change.</param>
    public EvaluationSetupException(string message, string hint) : base(message) => Hint = hint;

    /// <summary>What to change, e.g. ask for fewer shots.</summary>
    public string Hint { get; }
}
