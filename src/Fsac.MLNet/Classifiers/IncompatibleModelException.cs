namespace Fsac.MLNet.Classifiers;

/// <summary>
/// A saved model is intact but cannot run with the encoder it was loaded with: it was fitted on another backbone
/// (different encoder name) or on features of another width.
/// </summary>
public sealed class IncompatibleModelException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="savedEncoder">The encoder name recorded in the model.</param>
    /// <param name="givenEncoder">The name of the encoder offered at load time.</param>
    /// <param name="problem">What does not match.</param>
    public IncompatibleModelException(string savedEncoder, string givenEncoder, string problem)
        : base($"The model was fitted with encoder '{savedEncoder}' but is being loaded with '{givenEncoder}': {problem}")
    {
        SavedEncoder = savedEncoder;
        GivenEncoder = givenEncoder;
    }

    /// <summary>The encoder name recorded in the model.</summary>
    public string SavedEncoder { get; }

    /// <summary>The name of the encoder offered at load time.</summary>
    public string GivenEncoder { get; }
}
