namespace Fsac.MLNet;

/// <summary>The benchmark whose published hyper-parameters and prompts CLIP-FSAC starts from.</summary>
public enum FewShotAnomalyPreset
{
    /// <summary>MVTec AD settings (the default).</summary>
    MVTec,
    /// <summary>VisA settings.</summary>
    VisA,
}
