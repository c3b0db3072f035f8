using Fsac.MLNet.Encoders;
using Fsac.MLNet.Encoders.Clip;
using Fsac.MLNet.Native;

namespace Fsac.Cli.Inputs;

/// <summary>Creates the encoder a backbone reference names, with the CLIP vocabulary given by <c>--vocab</c> when there is one.</summary>
public static class BackboneLoader
{
    /// <summary>
    /// <see cref="BackboneReference.CreateEncoder"/> when <paramref name="vocabulary"/> is null; else the CLIP model folder
    /// <paramref name="backbone"/> names, with the tokenizer read from that file (CLIP's bpe_simple_vocab_16e6.txt.gz),
    /// whatever vocabulary the folder or the download cache holds.
    /// </summary>
    /// <exception cref="FileNotFoundException">
    /// There is no file at <paramref name="vocabulary"/>, or none was given and the CLIP folder and the cache have none.
    /// </exception>
    /// <exception cref="ArgumentException">A vocabulary was given for a backbone that is not a CLIP model folder.</exception>
    public static IImageEncoder Create(BackboneReference backbone, string? vocabulary)
    {
        ArgumentNullException.ThrowIfNull(backbone);
        if (vocabulary is null)
        {
            try
            {
                return backbone.CreateEncoder();
            }
            catch (FileNotFoundException e) when (e.FileName == ClipPretrained.VocabularyCachePath())
            {
                throw new FileNotFoundException($"{e.Message} On the fsac command line the path goes after --vocab.", e.FileName, e);
            }
        }
        if (!File.Exists(vocabulary))
            throw new FileNotFoundException($"--vocab: no vocabulary file at '{vocabulary}' (CLIP's {ClipTokenizer.BpeGzFileName}).", vocabulary);
        if (!Directory.Exists(backbone.Spec))
            throw new ArgumentException($"--vocab applies to CLIP model folders only, not to the backbone '{backbone.Spec}' " +
                "(resnet18 has no text tower; published name:tag weights come with their own vocabulary).");
        TorchRuntime.EnsureLoaded();
        return ClipEncoder.Load(backbone.Spec, backbone.Precision, vocabulary, backbone.Engine);
    }
}
