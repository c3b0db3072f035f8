using Fsac.MLNet.Checkpoints;
using Fsac.MLNet.Encoders.Clip;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using TorchSharp;

namespace Fsac.MLNet.Tests.Encoders.Clip;

[TestClass]
public sealed class ClipTokenizerTests
{
    private static ClipTokenizer? _tokenizer;

    private static ClipTokenizer Tokenizer =>
        _tokenizer ??= ClipTokenizer.FromBpeGz(SharedData.Path("clip-reference", "vocab", ClipTokenizer.BpeGzFileName));

    private static string[] ExpectedStrings(string key)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(SharedData.Path("clip-reference", "tiny-vit", "expected.json")));
        return doc.RootElement.GetProperty(key).EnumerateArray().Select(e => e.GetString()!).ToArray();
    }

    private static long[] ExpectedTokens(string name, out long[] shape)
    {
        var t = SafeTensors.Read(SharedData.Path("clip-reference", "tiny-vit", "expected.safetensors"))[name];
        shape = t.Shape;
        var values = new long[t.ElementCount];
        Buffer.BlockCopy(t.Data, 0, values, 0, t.Data.Length);
        return values;
    }

    [TestMethod]
    [DataRow("texts", "tokens_texts", 13)]
    [DataRow("cpe_prompts", "tokens_cpe", 231)]
    public void ReproducesOpenClipTokens(string textsKey, string tokensName, int rows)
    {
        var texts = ExpectedStrings(textsKey);
        var expected = ExpectedTokens(tokensName, out var shape);
        CollectionAssert.AreEqual(new long[] { rows, 77 }, shape);
        Assert.HasCount(rows, texts);

        var arrays = Tokenizer.TokenizeToArrays(texts);
        for (int i = 0; i < rows; i++)
            CollectionAssert.AreEqual(expected.AsSpan(i * 77, 77).ToArray(), arrays[i], $"row {i}: '{texts[i]}'");

        using var tensor = Tokenizer.Tokenize(texts);
        Assert.AreEqual(torch.ScalarType.Int64, tensor.dtype);
        CollectionAssert.AreEqual(shape, tensor.shape);
        CollectionAssert.AreEqual(expected, tensor.data<long>().ToArray());
    }

    [TestMethod]
    public void VocabularyHasClipsSizeAndSpecialIds()
    {
        Assert.AreEqual(49408, Tokenizer.VocabularySize);
        Assert.AreEqual(49406, Tokenizer.StartOfTextId);
        Assert.AreEqual(49407, Tokenizer.EndOfTextId);
    }

    [TestMethod]
    public void TruncationKeepsEndOfTextLast()
    {
        var rows = Tokenizer.TokenizeToArrays(["one two three four five six"], contextLength: 4);
        var full = Tokenizer.Encode("one two three four five six");
        Assert.IsGreaterThan(2, full.Count);
        CollectionAssert.AreEqual(new long[] { 49406, full[0], full[1], 49407 }, rows[0]);
    }

    [TestMethod]
    public void EmptyBatchGivesZeroRows()
    {
        using var t = Tokenizer.Tokenize([]);
        CollectionAssert.AreEqual(new long[] { 0, 77 }, t.shape);
        Assert.IsEmpty(Tokenizer.TokenizeToArrays([]));
    }

    [TestMethod]
    public void SpecialTokensWrittenInTextMapToTheirIds()
    {
        var ids = Tokenizer.Encode("a <|ENDOFTEXT|> b");
        Assert.HasCount(3, ids);
        Assert.AreEqual(49407, ids[1]);
        CollectionAssert.AreEqual(Tokenizer.Encode("a").Concat(Tokenizer.Encode("b")).ToArray(), new[] { ids[0], ids[2] });
    }

    [TestMethod]
    public void CleansLikePython()
    {
        // &amp;lt; unescapes twice to '<'; white space runs collapse; U+001C is white space for Python.
        CollectionAssert.AreEqual(Tokenizer.Encode("< x y").ToArray(), Tokenizer.Encode("  &amp;lt;\u001Cx\t\n y  ").ToArray());
        // Python's str.lower: 'ΟΔΟΣ ΣΑ Σ' -> 'οδος σα σ' (final sigma only at a word's end), U+0130 -> 'i' + U+0307.
        CollectionAssert.AreEqual(Tokenizer.Encode("οδος σα σ").ToArray(), Tokenizer.Encode("ΟΔΟΣ ΣΑ Σ").ToArray());
        CollectionAssert.AreNotEqual(Tokenizer.Encode("οδοσ").ToArray(), Tokenizer.Encode("οδος").ToArray());
        CollectionAssert.AreEqual(Tokenizer.Encode("i\u0307").ToArray(), Tokenizer.Encode("\u0130").ToArray());
    }

    [TestMethod]
    [DataRow("\U00020000ab", 1)]     // U+20000 is a CJK letter: Python's [\p{L}]+ keeps it in one word with 'ab'
    [DataRow("\U00020000 ab", 2)]
    [DataRow("it's!'s x'd", 6)]      // it | 's | !' | s | x | 'd
    [DataRow("a1b22 \u00B2", 6)]     // a | 1 | b | 2 | 2 | ²: digits one at a time
    [DataRow("🙂🙂x", 2)]
    public void SplitsWordsLikeOpenClipsPattern(string text, int words)
    {
        var byId = Tokenizer.Vocabulary.ToDictionary(kv => kv.Value, kv => kv.Key);
        var tokens = Tokenizer.Encode(text).Select(id => byId[id]).ToList();
        Assert.AreEqual(words, tokens.Count(t => t.EndsWith("</w>", StringComparison.Ordinal)), string.Join(" ", tokens));
        Assert.EndsWith("</w>", tokens[^1]);
    }

    [TestMethod]
    public void FromVocabAndMergesMatchesTheGzLayout()
    {
        var dir = Directory.CreateTempSubdirectory("fsac-tok-");
        try
        {
            WriteHuggingFaceLayout(dir.FullName);
            var hf = ClipTokenizer.Find(dir.FullName);
            var texts = ExpectedStrings("texts");
            var a = Tokenizer.TokenizeToArrays(texts);
            var b = hf.TokenizeToArrays(texts);
            for (int i = 0; i < texts.Length; i++) CollectionAssert.AreEqual(a[i], b[i]);
        }
        finally { dir.Delete(recursive: true); }
    }

    [TestMethod]
    public void FindListsWhatItLookedFor()
    {
        var dir = Directory.CreateTempSubdirectory("fsac-tok-");
        try
        {
            var e = Assert.ThrowsExactly<FileNotFoundException>(() => ClipTokenizer.Find(dir.FullName));
            StringAssert.Contains(e.Message, ClipTokenizer.BpeGzFileName);
            StringAssert.Contains(e.Message, ClipTokenizer.VocabJsonFileName);
            StringAssert.Contains(e.Message, ClipTokenizer.MergesFileName);
        }
        finally { dir.Delete(recursive: true); }
    }

    [TestMethod]
    public void MissingVocabularyIsFileNotFound()
    {
        var path = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".txt.gz");
        var e = Assert.ThrowsExactly<FileNotFoundException>(() => ClipTokenizer.FromBpeGz(path));
        StringAssert.Contains(e.Message, path);
    }

    [TestMethod]
    public void CorruptVocabularyIsCheckpointFormatException()
    {
        var dir = Directory.CreateTempSubdirectory("fsac-tok-");
        try
        {
            var notGzip = Path.Combine(dir.FullName, "random.txt.gz");
            File.WriteAllBytes(notGzip, Enumerable.Range(0, 4096).Select(i => (byte)(i * 37 + 11)).ToArray());
            var e1 = Assert.ThrowsExactly<CheckpointFormatException>(() => ClipTokenizer.FromBpeGz(notGzip));
            Assert.AreEqual(notGzip, e1.FilePath);
            StringAssert.Contains(e1.Message, "gzip");

            var tooShort = Path.Combine(dir.FullName, "short.txt.gz");
            WriteGz(tooShort, "#version: 0.2\ni n\nt h\n");
            var e2 = Assert.ThrowsExactly<CheckpointFormatException>(() => ClipTokenizer.FromBpeGz(tooShort));
            StringAssert.Contains(e2.Message, "48894");

            var vocab = Path.Combine(dir.FullName, ClipTokenizer.VocabJsonFileName);
            var merges = Path.Combine(dir.FullName, ClipTokenizer.MergesFileName);
            File.WriteAllText(vocab, "{\"a\": 0, ");
            File.WriteAllText(merges, "#version: 0.2\n");
            var e3 = Assert.ThrowsExactly<CheckpointFormatException>(() => ClipTokenizer.FromVocabAndMerges(vocab, merges));
            Assert.AreEqual(vocab, e3.FilePath);

            File.WriteAllText(vocab, "{\"a\": 0, \"<|startoftext|>\": 1, \"<|endoftext|>\": 2}");
            var e4 = Assert.ThrowsExactly<CheckpointFormatException>(() => ClipTokenizer.FromVocabAndMerges(vocab, merges));
            StringAssert.Contains(e4.Message, "byte symbol");
        }
        finally { dir.Delete(recursive: true); }
    }

    private static void WriteGz(string path, string content)
    {
        using var gz = new GZipStream(File.Create(path), CompressionLevel.Fastest);
        gz.Write(Encoding.UTF8.GetBytes(content));
    }

    /// <summary>Writes vocab.json + merges.txt derived from the gz list the way Hugging Face's CLIP files are laid out.</summary>
    private static void WriteHuggingFaceLayout(string dir)
    {
        using var gz = new GZipStream(File.OpenRead(SharedData.Path("clip-reference", "vocab", ClipTokenizer.BpeGzFileName)), CompressionMode.Decompress);
        var lines = new StreamReader(gz, Encoding.UTF8).ReadToEnd().Split('\n')[1..48895];
        File.WriteAllLines(Path.Combine(dir, ClipTokenizer.MergesFileName), ["#version: 0.2", .. lines]);
        File.WriteAllText(Path.Combine(dir, ClipTokenizer.VocabJsonFileName), JsonSerializer.Serialize(Tokenizer.Vocabulary));
    }
}
