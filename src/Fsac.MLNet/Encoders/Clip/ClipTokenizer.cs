using Fsac.MLNet.Checkpoints;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Tokenizers;
using TorchSharp;

namespace Fsac.MLNet.Encoders.Clip;

/// <summary>
/// CLIP's text tokeniser, token for token the same as OpenCLIP's <c>SimpleTokenizer</c> (run without ftfy):
/// clean the text (HTML unescape twice, collapse white space, strip, lower-case), split it with CLIP's
/// pattern, byte-level BPE with <c>&lt;/w&gt;</c> ending each word, then frame with
/// <c>&lt;|startoftext|&gt;</c> … <c>&lt;|endoftext|&gt;</c>, truncate and zero-pad to the context length.
/// </summary>
/// <remarks>
/// <para><b>From Microsoft.ML.Tokenizers:</b> <see cref="BpeTokenizer"/> does the BPE itself — the byte-level
/// mapping of UTF-8 bytes to GPT-2's printable characters (<see cref="BpeOptions.ByteLevel"/>), the
/// <c>&lt;/w&gt;</c> suffix on each word's last symbol (<see cref="BpeOptions.EndOfWordSuffix"/>), merging by
/// rank, the vocabulary look-up and special tokens written in the text.</para>
/// <para><b>Added here:</b> building the 49,408-entry vocabulary from <c>bpe_simple_vocab_16e6.txt.gz</c> as
/// OpenCLIP does (256 byte symbols, the same with <c>&lt;/w&gt;</c>, the first 48,894 merges, the two special
/// tokens); the clean-up with Python's white space and lower-casing rules; the pre-tokeniser (a scanner
/// over Unicode scalar values, because a .NET regular expression treats letters outside the Basic
/// Multilingual Plane differently from Python's <c>regex</c>); the framing, truncation and padding; and
/// checks that turn a damaged vocabulary into a <see cref="CheckpointFormatException"/>.</para>
/// <para>Known difference: HTML entities are decoded with <see cref="System.Net.WebUtility.HtmlDecode(string)"/>,
/// which knows the HTML 4 named entities and numeric references; Python's <c>html.unescape</c> also decodes
/// HTML5-only names and the legacy forms without a semicolon (<c>&amp;amp</c>), which stay as written here, and
/// reads <c>&amp;#128;</c>..<c>&amp;#159;</c> as Windows-1252.</para>
/// </remarks>
public sealed class ClipTokenizer
{
    /// <summary>CLIP's text context: 77 tokens.</summary>
    public const int DefaultContextLength = 77;

    /// <summary>The start-of-text special token.</summary>
    public const string StartOfTextToken = "<|startoftext|>";

    /// <summary>The end-of-text special token.</summary>
    public const string EndOfTextToken = "<|endoftext|>";

    /// <summary>File name of OpenCLIP's gzipped BPE merges list.</summary>
    public const string BpeGzFileName = "bpe_simple_vocab_16e6.txt.gz";

    /// <summary>File name of the Hugging Face vocabulary (token to id).</summary>
    public const string VocabJsonFileName = "vocab.json";

    /// <summary>File name of the Hugging Face merges list.</summary>
    public const string MergesFileName = "merges.txt";

    /// <summary>Merges OpenCLIP takes from the gzipped list: 49152 - 256 - 2.</summary>
    private const int BpeGzMergeCount = 49152 - 256 - 2;

    private const string EndOfWord = "</w>";

    private readonly BpeTokenizer _bpe;

    private ClipTokenizer(BpeTokenizer bpe, int startOfTextId, int endOfTextId, int vocabularySize)
    {
        _bpe = bpe;
        StartOfTextId = startOfTextId;
        EndOfTextId = endOfTextId;
        VocabularySize = vocabularySize;
    }

    /// <summary>Id of <c>&lt;|startoftext|&gt;</c> (49406 in CLIP).</summary>
    public int StartOfTextId { get; }

    /// <summary>Id of <c>&lt;|endoftext|&gt;</c> (49407 in CLIP).</summary>
    public int EndOfTextId { get; }

    /// <summary>Number of distinct ids (49408 in CLIP).</summary>
    public int VocabularySize { get; }

    /// <summary>The BPE vocabulary: token (in GPT-2's byte-level characters, <c>&lt;/w&gt;</c> ending words) to id.</summary>
    public IReadOnlyDictionary<string, int> Vocabulary => _bpe.Vocabulary;

    /// <summary>Token ids of one text after clean-up, without the start/end tokens and without truncation.</summary>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _bpe.EncodeToIds(ClipTextCleaner.Clean(text));
    }

    /// <summary>
    /// Tokenises <paramref name="texts"/> into rows of exactly <paramref name="contextLength"/> ids:
    /// <c>&lt;|startoftext|&gt;</c>, the text's tokens, <c>&lt;|endoftext|&gt;</c>, then zeros. A text too long
    /// for the context is cut, and its last kept position becomes <c>&lt;|endoftext|&gt;</c>.
    /// </summary>
    public long[][] TokenizeToArrays(IReadOnlyList<string> texts, int contextLength = DefaultContextLength)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(contextLength);
        var rows = new long[texts.Count][];
        for (int i = 0; i < rows.Length; i++)
        {
            rows[i] = new long[contextLength];
            Fill(texts[i], rows[i]);
        }
        return rows;
    }

    /// <summary>
    /// Tokenises <paramref name="texts"/> as <see cref="TokenizeToArrays"/> does into an int64 tensor
    /// <c>[N, contextLength]</c> on the CPU (the caller disposes it).
    /// </summary>
    public torch.Tensor Tokenize(IReadOnlyList<string> texts, int contextLength = DefaultContextLength)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(contextLength);
        var flat = new long[(long)texts.Count * contextLength];
        for (int i = 0; i < texts.Count; i++)
            Fill(texts[i], flat.AsSpan(i * contextLength, contextLength));
        return torch.tensor(flat, [texts.Count, contextLength], torch.int64);
    }

    private void Fill(string text, Span<long> row)
    {
        ArgumentNullException.ThrowIfNull(text, nameof(text));
        var ids = Encode(text);
        int n = Math.Min(ids.Count + 2, row.Length);
        row[0] = StartOfTextId;
        for (int j = 1; j < n - 1; j++) row[j] = ids[j - 1];
        row[n - 1] = EndOfTextId;
    }

    /// <summary>
    /// Loads OpenCLIP's <c>bpe_simple_vocab_16e6.txt.gz</c> and builds the vocabulary as OpenCLIP does.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointFormatException">The file is not gzip, not UTF-8, too short or has a malformed merge line.</exception>
    public static ClipTokenizer FromBpeGz(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"CLIP BPE vocabulary not found: '{path}'.", path);
        string content;
        try
        {
            using var gz = new GZipStream(RegularFile.Open(path, "CLIP vocabulary"), CompressionMode.Decompress);
            using var reader = new StreamReader(gz, new UTF8Encoding(false, throwOnInvalidBytes: true));
            content = reader.ReadToEnd();
        }
        catch (Exception e) when (e is InvalidDataException or DecoderFallbackException)
        {
            throw new CheckpointFormatException(path, $"not a gzip-compressed UTF-8 BPE merges list ({e.Message}).", e);
        }

        var lines = content.Split('\n');
        if (lines.Length - 1 < BpeGzMergeCount)
            throw new CheckpointFormatException(path, $"has {Math.Max(lines.Length - 1, 0)} merge lines after the header; CLIP's vocabulary needs {BpeGzMergeCount}.");
        var merges = new List<(string, string)>(BpeGzMergeCount);
        for (int i = 1; i <= BpeGzMergeCount; i++)
            merges.Add(ParseMerge(path, lines[i], i + 1));

        // OpenCLIP's order: byte symbols, the same with </w>, one token per merge, then the special tokens.
        var vocab = new Dictionary<string, int>(BpeGzMergeCount + 514, StringComparer.Ordinal);
        var symbols = ByteSymbols();
        foreach (var s in symbols) vocab[s] = vocab.Count;
        foreach (var s in symbols) vocab[s + EndOfWord] = vocab.Count;
        int next = vocab.Count;
        foreach (var (a, b) in merges) vocab[a + b] = next++;
        vocab[StartOfTextToken] = next++;
        vocab[EndOfTextToken] = next++;
        return Create(path, vocab, merges);
    }

    /// <summary>Loads a Hugging Face CLIP tokenizer: <c>vocab.json</c> (token to id) and <c>merges.txt</c>.</summary>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="CheckpointFormatException">A file is malformed or the vocabulary is not a CLIP one.</exception>
    public static ClipTokenizer FromVocabAndMerges(string vocabJsonPath, string mergesTxtPath)
    {
        ArgumentNullException.ThrowIfNull(vocabJsonPath);
        ArgumentNullException.ThrowIfNull(mergesTxtPath);
        if (!File.Exists(vocabJsonPath)) throw new FileNotFoundException($"CLIP vocabulary not found: '{vocabJsonPath}'.", vocabJsonPath);
        if (!File.Exists(mergesTxtPath)) throw new FileNotFoundException($"CLIP merges list not found: '{mergesTxtPath}'.", mergesTxtPath);

        Dictionary<string, int> vocab;
        try
        {
            using var fs = RegularFile.Open(vocabJsonPath, "CLIP vocabulary");
            vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(fs)
                ?? throw new CheckpointFormatException(vocabJsonPath, "the vocabulary is JSON null.");
        }
        catch (JsonException e)
        {
            throw new CheckpointFormatException(vocabJsonPath, $"not a JSON object of token to id ({e.Message}).", e);
        }

        var merges = new List<(string, string)>();
        int lineNumber = 0;
        using var mergesReader = new StreamReader(RegularFile.Open(mergesTxtPath, "CLIP merges list"));
        while (mergesReader.ReadLine() is { } line)
        {
            lineNumber++;
            if ((lineNumber == 1 && line.StartsWith("#version", StringComparison.Ordinal)) || line.Trim().Length == 0) continue;
            merges.Add(ParseMerge(mergesTxtPath, line, lineNumber));
        }
        return Create(vocabJsonPath, vocab, merges);
    }

    /// <summary>
    /// Loads the tokeniser from <paramref name="directory"/>: <c>bpe_simple_vocab_16e6.txt.gz</c> if present,
    /// otherwise <c>vocab.json</c> with <c>merges.txt</c>.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">Neither layout is in the folder; the message lists what was looked for.</exception>
    public static ClipTokenizer Find(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"Folder not found: '{directory}'.");
        var gz = Path.Combine(directory, BpeGzFileName);
        if (File.Exists(gz)) return FromBpeGz(gz);
        var vocab = Path.Combine(directory, VocabJsonFileName);
        var merges = Path.Combine(directory, MergesFileName);
        if (File.Exists(vocab) && File.Exists(merges)) return FromVocabAndMerges(vocab, merges);
        throw new FileNotFoundException(
            $"No CLIP tokenizer vocabulary in '{directory}': looked for '{BpeGzFileName}' (OpenCLIP), " +
            $"or '{VocabJsonFileName}' together with '{MergesFileName}' (Hugging Face).", gz);
    }

    private static (string, string) ParseMerge(string source, string line, int lineNumber)
    {
        var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2)
            throw new CheckpointFormatException(source, $"line {lineNumber} is not a BPE merge of two symbols: '{Truncate(line)}'.");
        return (parts[0], parts[1]);
    }

    private static string Truncate(string s) => s.Length <= 60 ? s : s[..60] + "…";

    private static ClipTokenizer Create(string source, Dictionary<string, int> vocab, List<(string A, string B)> merges)
    {
        if (!vocab.TryGetValue(StartOfTextToken, out int sot) || !vocab.TryGetValue(EndOfTextToken, out int eot))
            throw new CheckpointFormatException(source, $"the vocabulary lacks the special tokens {StartOfTextToken} and {EndOfTextToken}.");
        // Every byte must map to a token on its own, or byte-level BPE would silently drop text.
        foreach (var s in ByteSymbols())
            if (!vocab.ContainsKey(s) || !vocab.ContainsKey(s + EndOfWord))
                throw new CheckpointFormatException(source, $"the vocabulary lacks the byte symbol '{s}' (or '{s}{EndOfWord}'); it is not a byte-level CLIP vocabulary.");
        foreach (var (a, b) in merges)
            if (!vocab.ContainsKey(a) || !vocab.ContainsKey(b) || !vocab.ContainsKey(a + b))
                throw new CheckpointFormatException(source, $"the merge '{a} {b}' uses a symbol that is not in the vocabulary.");
        if (vocab.Values.Min() < 0) throw new CheckpointFormatException(source, "the vocabulary has a negative id.");

        var specials = new Dictionary<string, int> { [StartOfTextToken] = sot, [EndOfTextToken] = eot };
        var options = new BpeOptions(vocab)
        {
            Merges = merges.Select(m => m.A + " " + m.B),
            ByteLevel = true,
            EndOfWordSuffix = EndOfWord,
            SpecialTokens = specials,
            PreTokenizer = new ClipPreTokenizer(specials.Keys),
        };
        return new ClipTokenizer(BpeTokenizer.Create(options), sot, eot, vocab.Values.Max() + 1);
    }

    /// <summary>GPT-2's printable stand-ins for the 256 byte values, in OpenCLIP's vocabulary order.</summary>
    private static List<string> ByteSymbols()
    {
        static bool Printable(int b) => b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
        var symbols = new List<string>(256);
        for (int b = 0; b < 256; b++)
            if (Printable(b)) symbols.Add(((char)b).ToString());
        int extra = 0;
        for (int b = 0; b < 256; b++)
            if (!Printable(b)) symbols.Add(((char)(256 + extra++)).ToString());
        return symbols;
    }
}
