namespace Fsac.Cli;

/// <summary>The file given as a model is not a complete model written by <c>fsac fit</c>.</summary>
public sealed class ModelFileException(string message, Exception inner) : Exception(message, inner);
