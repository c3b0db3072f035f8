using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Classifiers;

namespace Fsac.Cli.Inputs;

/// <summary>Opens a model written by <c>fsac fit</c>, re-creating the backbone it records (with <c>--vocab</c>'s vocabulary when given).</summary>
public static class ModelFile
{
    /// <summary>The model at <paramref name="path"/>, owning its encoder.</summary>
    /// <exception cref="FileNotFoundException">Nothing is at <paramref name="path"/>.</exception>
    /// <exception cref="ModelFileException">The file is not a complete model.</exception>
    public static FewShotAnomalyClassifier Load(string path, string? vocabulary)
    {
        if (!File.Exists(path) && !Directory.Exists(path)) throw new FileNotFoundException($"Model not found: '{path}'.", path);
        try
        {
            return FewShotAnomalyClassifier.Load(path, backbone => BackboneLoader.Create(backbone, vocabulary));
        }
        catch (CheckpointFormatException e) when (e.FilePath == path)
        {
            throw new ModelFileException($"Cannot read model {e.Message}", e);
        }
    }
}
