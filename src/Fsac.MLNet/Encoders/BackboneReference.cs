using Fsac.MLNet.Classifiers;

namespace Fsac.MLNet.Encoders;

/// <summary>
/// How to re-create a frozen encoder: a specification for <see cref="Backbones.Create"/> and the precision it ran
/// in. A saved <see cref="Fsac.MLNet.Classifiers.FsacClassifier"/> records it so that it can be loaded without
/// handing it an encoder. A specification that names an existing folder is kept as its full path.
/// </summary>
/// <param name="Spec"><c>resnet18</c>, an OpenCLIP model folder, or published weights as <c>name:tag</c>.</param>
/// <param name="Precision">The precision the encoder computes in.</param>
public sealed record BackboneReference(string Spec, EncoderPrecision Precision = EncoderPrecision.Float32)
{
    /// <summary>The specification; a relative folder path is made absolute when the reference is created.</summary>
    public string Spec { get; init; } = !string.IsNullOrWhiteSpace(Spec) && Directory.Exists(Spec) ? Path.GetFullPath(Spec) : Spec;

    /// <summary>Creates the encoder (see <see cref="Backbones.Create"/>); the caller disposes it.</summary>
    /// <exception cref="ArgumentException">The specification is none of the accepted forms.</exception>
    public IImageEncoder CreateEncoder() => Backbones.Create(Spec, Precision);
}
