namespace Fsac.MLNet.Head;

/// <summary>The two settings of CLIP-FSAC §4.1. Adjust with <c>with</c>, e.g. <c>FsacPreset.VisA with { ClassName = "pcb1" }</c>.</summary>
public static class FsacPreset
{
    /// <summary>MVTec-AD: α₁ = α₂ = 1, β₁ = 0.1, β₂ = 0.9, random (Gaussian) perturbation anomalies.</summary>
    public static FsacOptions MVTec { get; } = new();

    /// <summary>VisA: α₁ = α₂ = β₁ = β₂ = 1, NSA anomalies.</summary>
    public static FsacOptions VisA { get; } = new() { Beta1 = 1f, Beta2 = 1f, SynthesisMethod = "nsa" };
}
