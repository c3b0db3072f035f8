using Fsac.MLNet.Classifiers;

namespace Fsac.MLNet.Encoders;

/// <summary>
/// How to re-create a frozen encoder: a specification for <see cref="Backbones.Create"/>, the precision it ran
/// in and the engine of its frozen passes. A saved <see cref="Fsac.MLNet.Classifiers.FsacClassifier"/> records it so
/// that it can be loaded without handing it an encoder. A specification that names an existing folder is kept as its
/// full path.
/// </summary>
/// <param name="Spec"><c>resnet18</c>, an OpenCLIP model folder, or published weights as <c>name:tag</c>.</param>
/// <param name="Precision">The precision the encoder computes in.</param>
public sealed record BackboneReference(string Spec, EncoderPrecision Precision = EncoderPrecision.Float32)
{
    /// <summary>The specification; a relative folder path is made absolute when the reference is created.</summary>
    public string Spec { get; init; } = !string.IsNullOrWhiteSpace(Spec) && Directory.Exists(Spec) ? Path.GetFullPath(Spec) : Spec;

    /// <summary>
    /// The engine of the encoder's frozen passes (<see cref="EncoderEngine.Auto"/> unless set): a choice of speed, not
    /// of results, since both engines compute the same features. Models saved before it existed load as Auto.
    /// </summary>
    public EncoderEngine Engine { get; init; } = EncoderEngine.Auto;

    /// <summary>Creates the encoder (see <see cref="Backbones.Create"/>); the caller disposes it.</summary>
    /// <exception cref="ArgumentException">The specification is none of the accepted forms.</exception>
    /// <exception cref="NotSupportedException"><see cref="Engine"/> is ONNX Runtime and this encoder cannot run on it here.</exception>
    public IImageEncoder CreateEncoder() => Backbones.Create(Spec, Precision, Engine);
}
