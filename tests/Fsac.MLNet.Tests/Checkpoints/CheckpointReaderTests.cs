using Fsac.MLNet.Checkpoints;
using static Fsac.MLNet.Tests.Checkpoints.TorchSaveWriter;
using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using TorchSharp;

namespace Fsac.MLNet.Tests.Checkpoints;

[TestClass]
public class CheckpointReaderTests
{
    private static string Fixture(string file) => SharedData.Path("clip-reference", "tiny-vit", file);

    private static Dictionary<string, TensorData> Reference() => SafeTensors.Read(Fixture("open_clip_model.safetensors"));

    [TestMethod]
    [DataRow("tiny-vit")]
    [DataRow("tiny-vit-quickgelu")]
    public void BothFixtureFormatsGiveTheSameStateDict(string model)
    {
        var fromBin = CheckpointReader.ReadStateDict(SharedData.Path("clip-reference", model, "open_clip_pytorch_model.bin"));
        var fromSafetensors = CheckpointReader.ReadStateDict(SharedData.Path("clip-reference", model, "open_clip_model.safetensors"));
        Assert.IsTrue(fromSafetensors.ContainsKey("visual.transformer.resblocks.1.attn.in_proj_weight"));
        StateDictAssert.AreIdentical(fromSafetensors, fromBin);
    }

    [TestMethod]
    public void FormatIsDetectedByContentNotExtension()
    {
        using var dir = new TempDir();
        File.Copy(Fixture("open_clip_pytorch_model.bin"), dir.File("actually-torch.safetensors"));
        File.Copy(Fixture("open_clip_model.safetensors"), dir.File("actually-safetensors.bin"));
        var reference = Reference();

        StateDictAssert.AreIdentical(reference, CheckpointReader.ReadStateDict(dir.File("actually-torch.safetensors")));
        StateDictAssert.AreIdentical(reference, CheckpointReader.ReadStateDict(dir.File("actually-safetensors.bin")));
    }

    [TestMethod]
    public void ModulePrefixOnEveryNameIsStripped()
    {
        using var dir = new TempDir();
        var reference = Reference();
        SafeTensors.Write(dir.File("dp.safetensors"), reference.ToDictionary(kv => "module." + kv.Key, kv => kv.Value));

        StateDictAssert.AreIdentical(reference, CheckpointReader.ReadStateDict(dir.File("dp.safetensors")));
    }

    [TestMethod]
    public void ModulePrefixOnSomeNamesIsKept()
    {
        using var dir = new TempDir();
        var t = new TensorData(torch.ScalarType.Float32, [1], new byte[4]);
        SafeTensors.Write(dir.File("mixed.safetensors"), new Dictionary<string, TensorData> { ["module.a"] = t, ["b"] = t });

        CollectionAssert.AreEquivalent(new[] { "module.a", "b" }, CheckpointReader.ReadStateDict(dir.File("mixed.safetensors")).Keys.ToList());
    }

    // The pickle variant of both unwrappings: a training checkpoint whose state_dict came from DataParallel.
    [TestMethod]
    public void WrappedAndPrefixedPickleIsUnwrapped()
    {
        using var dir = new TempDir();
        var path = dir.File("epoch_31.pt");
        var a = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();
        Write(path,
        [
            Item("epoch", 31L),
            Item("state_dict", new[]
            {
                Item("module.visual.proj", new PickledTensor("0", "FloatStorage", 4, 0, [2, 2], [2, 1])),
                Item("module.logit_scale", new PickledTensor("0", "FloatStorage", 4, 3, [], [])),
            }),
            Item("optimizer", new[] { Item("state", new[] { Item(0L, new[] { Item("exp_avg", new PickledTensor("0", "FloatStorage", 4, 0, [4], [1])) }) }) }),
        ], new Dictionary<string, byte[]> { ["0"] = a });

        var read = CheckpointReader.ReadStateDict(path);

        CollectionAssert.AreEqual(new[] { "visual.proj", "logit_scale" }, read.Keys.ToList());
        CollectionAssert.AreEqual(a, read["visual.proj"].Data);
        CollectionAssert.AreEqual(a[12..], read["logit_scale"].Data);
    }

    // The test's own OpenCLIP -> Hugging Face transformers conversion (the inverse of what the reader does).
    private static Dictionary<string, TensorData> ToHuggingFace(Dictionary<string, TensorData> openClip)
    {
        static TensorData Transpose(TensorData t)
        {
            using var x = t.ToTensor();
            using var y = x.t();
            return TensorData.FromTensor(y);
        }
        var hf = new Dictionary<string, TensorData>();
        foreach (var (name, t) in openClip)
        {
            switch (name)
            {
                case "visual.proj": hf["visual_projection.weight"] = Transpose(t); continue;
                case "text_projection": hf["text_projection.weight"] = Transpose(t); continue;
                case "logit_scale": hf[name] = t; continue;
            }
            var m = Regex.Match(name, @"^(visual\.)?transformer\.resblocks\.(\d+)\.(.*)$");
            if (m.Success)
            {
                var layer = $"{(m.Groups[1].Success ? "vision_model" : "text_model")}.encoder.layers.{m.Groups[2].Value}.";
                var part = m.Groups[3].Value;
                if (part.StartsWith("attn.in_proj_"))
                {
                    using var whole = t.ToTensor();
                    var chunks = whole.chunk(3, 0);
                    for (int i = 0; i < 3; i++)
                    {
                        hf[$"{layer}self_attn.{"qkv"[i]}_proj.{part["attn.in_proj_".Length..]}"] = TensorData.FromTensor(chunks[i]);
                        chunks[i].Dispose();
                    }
                    continue;
                }
                part = part.Replace("ln_1.", "layer_norm1.").Replace("ln_2.", "layer_norm2.").Replace("attn.out_proj.", "self_attn.out_proj.")
                           .Replace("mlp.c_fc.", "mlp.fc1.").Replace("mlp.c_proj.", "mlp.fc2.");
                hf[layer + part] = t;
                continue;
            }
            var renamed = name
                .Replace("visual.class_embedding", "vision_model.embeddings.class_embedding")
                .Replace("visual.conv1.weight", "vision_model.embeddings.patch_embedding.weight")
                .Replace("visual.positional_embedding", "vision_model.embeddings.position_embedding.weight")
                .Replace("visual.ln_pre.", "vision_model.pre_layrnorm.")
                .Replace("visual.ln_post.", "vision_model.post_layernorm.")
                .Replace("token_embedding.weight", "text_model.embeddings.token_embedding.weight")
                .Replace("ln_final.", "text_model.final_layer_norm.");
            hf[renamed == "positional_embedding" ? "text_model.embeddings.position_embedding.weight" : renamed] = t;
        }
        var positions = new TensorData(torch.ScalarType.Int64, [1, 77], new byte[77 * 8]);
        hf["text_model.embeddings.position_ids"] = positions;
        hf["vision_model.embeddings.position_ids"] = positions with { Shape = [1, 17], Data = new byte[17 * 8] };
        return hf;
    }

    [TestMethod]
    public void HuggingFaceLayoutIsRenamedToOpenClip()
    {
        using var dir = new TempDir();
        var reference = Reference();
        var hf = ToHuggingFace(reference);
        Assert.IsTrue(hf.ContainsKey("vision_model.encoder.layers.1.self_attn.v_proj.bias"));
        Assert.IsFalse(hf.Keys.Any(k => k.StartsWith("visual.") || k.StartsWith("transformer.")), "the test's conversion left OpenCLIP names");
        SafeTensors.Write(dir.File("model.safetensors"), hf);

        StateDictAssert.AreIdentical(reference, CheckpointReader.ReadStateDict(dir.File("model.safetensors")));
    }

    [TestMethod]
    public void HuggingFaceLayoutWithoutAllOfQkvIsRejected()
    {
        using var dir = new TempDir();
        var hf = ToHuggingFace(Reference());
        hf.Remove("text_model.encoder.layers.0.self_attn.k_proj.weight");
        SafeTensors.Write(dir.File("model.safetensors"), hf);

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => CheckpointReader.ReadStateDict(dir.File("model.safetensors")));
        StringAssert.Contains(e.Message, "transformer.resblocks.0.attn.in_proj_weight");
        StringAssert.Contains(e.Message, "k_proj");
    }

    private static void WriteRawSafetensors(string path, string header, byte[] data)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
        h.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + h.Length);
        File.WriteAllBytes(path, bytes);
    }

    [TestMethod]
    [DataRow("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 4, "the data section has 4 bytes")]
    [DataRow("""{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", 8, "needs 12 bytes but its header gives 8")]
    [DataRow("""{"w":{"dtype":"F16","shape":[2,2],"data_offsets":[0,4]}}""", 4, "needs 8 bytes")]
    [DataRow("""{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}""", 4, "too large")]
    [DataRow("""{"w":{"dtype":"F32","shape":[1000000000000],"data_offsets":[0,4000000000000]}}""", 4, "claims bytes [0, 4000000000000) but the data section has 4 bytes")]
    [DataRow("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"v":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}}""", 8, "overlap")]
    [DataRow("""{"w":{"dtype":"X9","shape":[1],"data_offsets":[0,4]}}""", 4, "unsupported dtype")]
    [DataRow("""{"w":{"dtype":"F32","shape":[1]""", 4, "not valid JSON")]
    public void LyingSafetensorsHeadersAreRejected(string header, int dataBytes, string problem)
    {
        using var dir = new TempDir();
        WriteRawSafetensors(dir.File("lying.safetensors"), header, new byte[dataBytes]);

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => CheckpointReader.ReadStateDict(dir.File("lying.safetensors")));
        StringAssert.Contains(e.Message, problem);
    }

    [TestMethod]
    [DataRow("open_clip_model.safetensors", 0.5)]
    [DataRow("open_clip_model.safetensors", 0.0001)]
    [DataRow("open_clip_pytorch_model.bin", 0.5)]
    [DataRow("open_clip_pytorch_model.bin", 0.9999)]
    public void TruncatedFilesAreRejected(string file, double keep)
    {
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(Fixture(file));
        File.WriteAllBytes(dir.File(file), bytes[..(int)(bytes.Length * keep)]);

        Assert.ThrowsExactly<CheckpointFormatException>(() => CheckpointReader.ReadStateDict(dir.File(file)));
    }

    [TestMethod]
    [DataRow(new byte[0], "empty")]
    [DataRow(new byte[] { 1, 2, 3 }, "neither a safetensors file nor a torch.save checkpoint")]
    [DataRow(new byte[] { (byte)'<', (byte)'h', (byte)'t', (byte)'m', (byte)'l', (byte)'>', 0, 0, 0, 0 }, "neither")]
    public void EmptyAndUnknownFilesAreRejected(byte[] content, string problem)
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("weights.safetensors"), content);

        StringAssert.Contains(Assert.ThrowsExactly<CheckpointFormatException>(() => CheckpointReader.ReadStateDict(dir.File("weights.safetensors"))).Message, problem);
    }

    [TestMethod]
    public void SafetensorsHeaderLengthStartingLikeAPickleIsStillSafetensors()
    {
        using var dir = new TempDir();
        var header = """{"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}""".PadRight(0x180);
        WriteRawSafetensors(dir.File("w.safetensors"), header, [7, 9]);

        CollectionAssert.AreEqual(new byte[] { 7, 9 }, CheckpointReader.ReadStateDict(dir.File("w.safetensors"))["w"].Data);
    }

    [TestMethod]
    public void SafetensorsBytesAreReadFromTheFileOnlyWhenATensorIsMade_StraightIntoIt()
    {
        using var dir = new TempDir();
        var header = """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}""";
        var path = dir.File("w.safetensors");
        WriteRawSafetensors(path, header, [.. BitConverter.GetBytes(1.5f), .. BitConverter.GetBytes(-2f), 1, 2, 3]);
        var stateDict = CheckpointReader.ReadStateDict(path);

        // The same bytes rewritten in place after the header was read: what the tensors get proves when they were read.
        var bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(bytes.Length - 11), 4.25f);
        bytes[^1] = 9;
        File.WriteAllBytes(path, bytes);
        using (var a = stateDict["a"].ToTensor())
            CollectionAssert.AreEqual(new[] { 4.25f, -2f }, a.data<float>().ToArray());
        CollectionAssert.AreEqual(new byte[] { 1, 2, 9 }, stateDict["b"].Data);
        using (var b = stateDict["b"].ToTensor()) CollectionAssert.AreEqual(new byte[] { 1, 2, 9 }, b.data<byte>().ToArray());
    }

    [TestMethod]
    public void ASafetensorsFileThatChangesLengthBeforeItsTensorsAreReadIsRefusedByName()
    {
        using var dir = new TempDir();
        var path = dir.File("w.safetensors");
        WriteRawSafetensors(path, """{"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}""", [7, 9]);
        var stateDict = CheckpointReader.ReadStateDict(path);
        File.WriteAllBytes(path, [.. File.ReadAllBytes(path)[..^1]]);

        var e = Assert.ThrowsExactly<CheckpointFormatException>(() => stateDict["w"].ToTensor());
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "changed while it was read");
    }

    [TestMethod]
    public void LegacyTorchSaveIsExplainedThroughTheReader()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("legacy.pth"), [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);

        StringAssert.Contains(Assert.ThrowsExactly<CheckpointFormatException>(() => CheckpointReader.ReadStateDict(dir.File("legacy.pth"))).Message, "legacy");
    }

    [TestMethod]
    public void MissingFileIsFileNotFound()
        => Assert.ThrowsExactly<FileNotFoundException>(() => CheckpointReader.ReadStateDict(Path.Combine(Path.GetTempPath(), Guid.NewGuid() + ".bin")));

    [TestMethod]
    [DataRow("open_clip_model.safetensors", "model.safetensors,open_clip_pytorch_model.bin,open_clip_model.safetensors,x.pt")]
    [DataRow("model.safetensors", "model.safetensors,other.safetensors,open_clip_pytorch_model.bin")]
    [DataRow("weights.safetensors", "weights.safetensors,open_clip_pytorch_model.bin,config.json")]
    [DataRow("open_clip_pytorch_model.bin", "open_clip_pytorch_model.bin,pytorch_model.bin,a.pt")]
    [DataRow("pytorch_model.bin", "pytorch_model.bin,a.pt,b.pth")]
    [DataRow("epoch_32.pt", "epoch_32.pt,config.json")]
    public void FindWeightsFollowsThePreferenceOrder(string expected, string files)
    {
        using var dir = new TempDir();
        foreach (var f in files.Split(',')) File.WriteAllBytes(dir.File(f), []);

        Assert.AreEqual(dir.File(expected), CheckpointReader.FindWeights(dir.Path));
    }

    [TestMethod]
    public void FindWeightsRefusesToGuessAndSaysWhatItLookedFor()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("config.json"), []);
        var none = Assert.ThrowsExactly<FileNotFoundException>(() => CheckpointReader.FindWeights(dir.Path));
        StringAssert.Contains(none.Message, "open_clip_model.safetensors");
        StringAssert.Contains(none.Message, "*.pth");

        File.WriteAllBytes(dir.File("a.pt"), []);
        File.WriteAllBytes(dir.File("b.pth"), []);
        var ambiguous = Assert.ThrowsExactly<IOException>(() => CheckpointReader.FindWeights(dir.Path));
        StringAssert.Contains(ambiguous.Message, "a.pt, b.pth");
        Assert.ThrowsExactly<DirectoryNotFoundException>(() => CheckpointReader.FindWeights(dir.File("nope")));
    }

    [TestMethod]
    public void ADirectoryReadsItsPreferredWeights()
        => StateDictAssert.AreIdentical(Reference(), CheckpointReader.ReadStateDict(Path.GetDirectoryName(Fixture("open_clip_model.safetensors"))!));
}
