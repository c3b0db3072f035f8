namespace Fsac.MLNet.Checkpoints.Onnx;

/// <summary>The parts of an ONNX <c>ModelProto</c> that <see cref="OnnxModelReader"/> reads.</summary>
/// <param name="IrVersion">ONNX IR version of the file.</param>
/// <param name="ProducerName">Tool that wrote the file (may be empty).</param>
/// <param name="ProducerVersion">Version of that tool (may be empty).</param>
/// <param name="OpsetVersion">Version of the default (<c>ai.onnx</c>) operator set, 0 when the file names none.</param>
/// <param name="Graph">The main graph.</param>
internal sealed record OnnxModel(long IrVersion, string ProducerName, string ProducerVersion, long OpsetVersion, OnnxGraph Graph);
