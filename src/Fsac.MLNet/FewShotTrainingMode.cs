namespace Fsac.MLNet;

/// <summary>Which adapters CLIP-FSAC trains.</summary>
public enum FewShotTrainingMode
{
    /// <summary>The paper's two stages: the image adapter first, then the text adapter with the image adapter frozen.</summary>
    TwoStage,
    /// <summary>Only the image adapter (backbones without a text tower, such as ResNet18).</summary>
    ImageOnly,
}
