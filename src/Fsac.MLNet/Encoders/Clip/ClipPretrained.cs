using Fsac.MLNet.Checkpoints;

namespace Fsac.MLNet.Encoders.Clip;

/// <summary>
/// Where published CLIP weights live (the entries of OpenCLIP's <c>pretrained.py</c> this library supports),
/// and a cached download of them. This and <see cref="ClipDownloader"/> are the only parts of the library
/// that touch the network.
/// </summary>
public static class ClipPretrained
{
    private const string OpenClipReleases = "https://github.com/mlfoundations/open_clip/releases/download/v0.2-weights/";
    private const string OpenAiModels = "https://openaipublic.azureedge.net/clip/models/";

    private static readonly float[] OpenAiMean = [0.48145466f, 0.4578275f, 0.40821073f];
    private static readonly float[] OpenAiStd = [0.26862954f, 0.26130258f, 0.27577711f];
    private static readonly float[] InceptionMean = [0.5f, 0.5f, 0.5f];
    private static readonly float[] InceptionStd = [0.5f, 0.5f, 0.5f];

    private static readonly Lazy<ClipDownloader> SharedDownloader = new(() => new ClipDownloader());

    /// <summary>Every known set of weights.</summary>
    public static IReadOnlyList<ClipPretrainedWeights> All { get; } =
    [
        Release("ViT-B-16-plus-240", "laion400m_e31", "vit_b_16_plus_240-laion400m_e31-8fb26589.pt"),
        Release("ViT-B-16-plus-240", "laion400m_e32", "vit_b_16_plus_240-laion400m_e32-699c4b84.pt"),
        OpenAi("ViT-B-16", "5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f"),
        Release("ViT-B-16", "laion400m_e31", "vit_b_16-laion400m_e31-00efa78f.pt"),
        Release("ViT-B-16", "laion400m_e32", "vit_b_16-laion400m_e32-55e67d44.pt"),
        HfHub("ViT-B-16", "laion2b_s34b_b88k", "laion/CLIP-ViT-B-16-laion2B-s34B-b88K"),
        OpenAi("ViT-B-32", "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af"),
        HfHub("ViT-B-32", "laion2b_s34b_b79k", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"),
        OpenAi("ViT-L-14", "b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd88be6f7c2e0eca1737a03836"),
        Release("ViT-L-14", "laion400m_e31", "vit_l_14-laion400m_e31-69988bb6.pt"),
        Release("ViT-L-14", "laion400m_e32", "vit_l_14-laion400m_e32-3d133497.pt"),
        HfHub("ViT-L-14", "laion2b_s32b_b82k", "laion/CLIP-ViT-L-14-laion2B-s32B-b82K", inception: true),
    ];

    // OpenCLIP's own releases: the file name ends with the first 8 hex digits of the SHA-256.
    private static ClipPretrainedWeights Release(string model, string tag, string file)
        => new(model, tag, new Uri(OpenClipReleases + file), Path.GetFileNameWithoutExtension(file).Split('-')[^1],
               QuickGelu: false, OpenAiMean, OpenAiStd);

    // OpenAI's releases: the directory is the file's full SHA-256. The files are TorchScript archives, which
    // CheckpointReader refuses with instructions to convert them.
    private static ClipPretrainedWeights OpenAi(string model, string sha256)
        => new(model, "openai", new Uri($"{OpenAiModels}{sha256}/{model}.pt"), sha256, QuickGelu: true, OpenAiMean, OpenAiStd);

    // Hugging Face hub repositories: no published hash.
    private static ClipPretrainedWeights HfHub(string model, string tag, string repo, bool inception = false)
        => new(model, tag, new Uri($"https://huggingface.co/{repo}/resolve/main/open_clip_pytorch_model.bin"), null,
               QuickGelu: false, inception ? InceptionMean : OpenAiMean, inception ? InceptionStd : OpenAiStd);

    /// <summary>
    /// The weights published as <paramref name="model"/>:<paramref name="tag"/>. The model name ignores case; the
    /// tag is normalised as OpenCLIP does (lower case, '-' read as '_').
    /// </summary>
    /// <exception cref="ArgumentException">The model or tag is unknown; the message lists the known ones.</exception>
    public static ClipPretrainedWeights Get(string model, string tag)
    {
        var ofModel = All.Where(w => string.Equals(w.Model, model, StringComparison.OrdinalIgnoreCase)).ToList();
        if (ofModel.Count == 0)
            throw new ArgumentException(
                $"Unknown CLIP model '{model}'. Known models: {string.Join(", ", All.Select(w => w.Model).Distinct())}.", nameof(model));
        var clean = tag.ToLowerInvariant().Replace('-', '_');
        return ofModel.FirstOrDefault(w => w.Tag == clean)
               ?? throw new ArgumentException(
                   $"CLIP model '{ofModel[0].Model}' has no pretrained weights tagged '{tag}'. Known tags: {string.Join(", ", ofModel.Select(w => w.Tag))}.",
                   nameof(tag));
    }

    /// <summary>
    /// The local path of <paramref name="model"/>:<paramref name="tag"/>'s weights, downloading and verifying them
    /// first unless they are already cached (see <see cref="ClipDownloader.DownloadAsync(ClipPretrainedWeights, string?, IProgress{DownloadProgress}?, CancellationToken)"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The model or tag is unknown.</exception>
    /// <exception cref="ChecksumMismatchException">The download does not have the published SHA-256.</exception>
    /// <exception cref="HttpRequestException">The server refused or failed the request.</exception>
    public static string Download(string model, string tag, string? cacheDir = null,
                                  IProgress<DownloadProgress>? progress = null, CancellationToken ct = default)
        => DownloadAsync(model, tag, cacheDir, progress, ct).GetAwaiter().GetResult();

    /// <inheritdoc cref="Download"/>
    public static Task<string> DownloadAsync(string model, string tag, string? cacheDir = null,
                                             IProgress<DownloadProgress>? progress = null, CancellationToken ct = default)
        => SharedDownloader.Value.DownloadAsync(Get(model, tag), cacheDir, progress, ct);

    /// <summary>Where CLIP's BPE vocabulary is published (OpenAI's CLIP repository, MIT licence).</summary>
    public static Uri VocabularyUrl { get; } = new("https://github.com/openai/CLIP/raw/main/clip/bpe_simple_vocab_16e6.txt.gz");

    /// <summary>SHA-256 of <see cref="VocabularyUrl"/>'s file.</summary>
    public const string VocabularySha256 = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a";

    /// <summary>Where the vocabulary is cached: <c>&lt;cache root&gt;/vocab/bpe_simple_vocab_16e6.txt.gz</c>.</summary>
    public static string VocabularyCachePath(string? cacheDir = null)
        => Path.Combine(ClipDownloader.CacheRoot(cacheDir), "vocab", ClipTokenizer.BpeGzFileName);

    /// <summary>The local path of CLIP's vocabulary, downloading and verifying it first unless cached.</summary>
    /// <exception cref="ChecksumMismatchException">The download does not have the expected SHA-256.</exception>
    /// <exception cref="HttpRequestException">The server refused or failed the request.</exception>
    public static string DownloadVocabulary(string? cacheDir = null, IProgress<DownloadProgress>? progress = null, CancellationToken ct = default)
        => SharedDownloader.Value.DownloadAsync(VocabularyUrl, VocabularySha256, VocabularyCachePath(cacheDir), progress, ct).GetAwaiter().GetResult();
}
