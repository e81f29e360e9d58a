// The checks behind the suite, against slow references: FiniteScan on raw bytes of every float dtype (every
// position of short spans, so every SIMD tail runs), Ops.AllFinite on the CPU and the ILGPU simulator, the lazily
// grown RoPE tables against a table built at once, and generation with a model vocabulary padded beyond the tokenizer.
using System.Runtime.InteropServices;
using Lors.Models.Formats;
using Lors.Models.Generation;
using Lors.Models.Llama;
using Lors.Models.Tokenization;
using Lors.Tensors;
using Lors.Tensors.Cuda;

namespace Lors.Tests.Hardening;

[Collection("FormatHardening")]
public sealed class FormatHardeningChecksTests(HardeningScratch scratch) : IClassFixture<HardeningScratch>
{
    private static byte[] Encode(float[] values, SafeDType dt) => dt switch
    {
        SafeDType.F32 => MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
        SafeDType.F64 => MemoryMarshal.AsBytes(values.Select(v => (double)v).ToArray().AsSpan()).ToArray(),
        SafeDType.F16 => MemoryMarshal.AsBytes(values.Select(v => (Half)v).ToArray().AsSpan()).ToArray(),
        SafeDType.BF16 => MemoryMarshal.AsBytes(values.Select(v => (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16)).ToArray().AsSpan()).ToArray(),
        _ => throw new ArgumentException(dt.ToString()),
    };

    [Theory]
    [InlineData(SafeDType.F32)]
    [InlineData(SafeDType.F64)]
    [InlineData(SafeDType.F16)]
    [InlineData(SafeDType.BF16)]
    public void FiniteScanFindsTheFirstNonFiniteAtEveryPosition(SafeDType dt)
    {
        var rng = new Random(5);
        foreach (int n in new[] { 0, 1, 7, 31, 64, 65, 129 })
        {
            var clean = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2000 - 1000)).ToArray();
            Assert.Equal(-1, FiniteScan.FirstNonFinite(Encode(clean, dt), dt));
            for (int i = 0; i < n; i++)
                foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
                {
                    var v = (float[])clean.Clone();
                    v[i] = bad;
                    if (i + 3 < n) v[i + 3] = float.NaN;   // a later one must not be reported first
                    // The reference: the first index whose value is not finite.
                    Assert.Equal(i, FiniteScan.FirstNonFinite(Encode(v, dt), dt));
                }
        }
        // Large finite values are finite (F16 saturates at 65504, so stay below it there).
        float big = dt == SafeDType.F16 ? 60000f : 1e30f;
        Assert.Equal(-1, FiniteScan.FirstNonFinite(Encode([big, -big, 0f, -0f], dt), dt));
    }

    [Fact]
    public void FiniteScanDescribesTheElement()
    {
        Assert.Equal("element [1, 2] is NaN", FiniteScan.Describe(5, [2, 3], double.NaN));
        Assert.Equal("element [0] is -Inf", FiniteScan.Describe(0, [4], double.NegativeInfinity));
    }

    private static void AllFiniteMatchesReference(Device device)
    {
        foreach (var dt in new[] { DType.F32, DType.BF16 })
            foreach (int n in new[] { 1, 33, 1000 })
                foreach (int at in new[] { -1, 0, n / 2, n - 1 })
                    foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
                    {
                        var values = Enumerable.Range(0, n).Select(i => (float)Math.Sin(i) * 1e3f).ToArray();
                        if (at >= 0) values[at] = bad;
                        using var cpu = Tensor.FromArray(values, [n], Device.Cpu, dt);
                        using var t = cpu.To(device);
                        Assert.Equal(values.All(float.IsFinite), Ops.AllFinite(t));
                    }
    }

    [Fact]
    public void AllFiniteOnTheCpu() => AllFiniteMatchesReference(Device.Cpu);

    [Fact]
    public void AllFiniteInTheCudaSimulator()
    {
        CudaBackend.SimulatorEnabled = true;
        var device = Device.Cuda(CudaBackend.SimulatorIndex);
        Assert.True(Backends.TryGet(device, out _), CudaBackend.FailureReason(CudaBackend.SimulatorIndex));
        AllFiniteMatchesReference(device);
    }

    /// <summary>The device path of the load check (a reduction where the weights land), on the ILGPU simulator with a
    /// small random model: the NaN is refused naming file and tensor, the clean model loads.</summary>
    [Fact]
    public void NonFiniteWeightIsRefusedWhenLoadedOnTheCudaSimulator()
    {
        CudaBackend.SimulatorEnabled = true;
        var device = Device.Cuda(CudaBackend.SimulatorIndex);
        Assert.True(Backends.TryGet(device, out _), CudaBackend.FailureReason(CudaBackend.SimulatorIndex));
        var config = new LlamaConfig { VocabSize = 64, HiddenSize = 16, IntermediateSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 2, MaxPositionEmbeddings = 64, TorchDType = "float32" };
        string clean = scratch.NewPath("small");
        using (var m = LlamaModel.CreateRandom(config, 1)) m.SaveFolder(clean);
        using (var ok = LlamaModel.Load(clean, device)) Assert.Equal(2, ok.Layers.Count);
        const string victim = "model.layers.1.self_attn.k_proj.weight";
        var bytes = FormatHardeningModel.WithElement(File.ReadAllBytes(Path.Combine(clean, "model.safetensors")), victim, 37, double.PositiveInfinity);
        string bad = scratch.ModelCase(new Dictionary<string, byte[]?> { ["model.safetensors"] = bytes }, clean);
        Hardening.Fails<SafetensorsFormatException>(() => LlamaModel.Load(bad, device).Dispose(), Path.Combine(bad, "model.safetensors"), victim, "+Inf");
    }

    [Fact]
    public void LazilyGrownRopeEqualsATableBuiltAtOnce()
    {
        // The tiny model's tables start at min(max positions, 4096) = 1024 rows; a config with 10^6 positions starts
        // at 4096 and must grow for position 5000; logits at positions past 4096 must equal the uncached forward.
        var config = Hardening.ReadObject(Path.Combine(RepoPaths.TinyModel, "config.json"));
        config["max_position_embeddings"] = 1_000_000;
        string dir = scratch.ModelCase(new Dictionary<string, byte[]?> { ["config.json"] = Hardening.Json(config) });
        using var model = LlamaModel.Load(dir);
        var cos = new float[5000 * 32];
        var sin = new float[5000 * 32];
        Rope.CosSin(model.Config, 5000, cos, sin);
        // Ask for rows 4090..4109 (past the first 4096): the private accessor Hidden uses, called directly so the
        // test needs no 4100-token forward pass.
        var ropeRows = typeof(LlamaModel).GetMethod("RopeRows", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        using var scope = TensorScope.Begin();
        var (c, s) = ((Tensor, Tensor))ropeRows.Invoke(model, [4090, 20])!;
        Assert.Equal(cos.AsSpan(4090 * 32, 20 * 32).ToArray(), c.ToFloatArray());
        Assert.Equal(sin.AsSpan(4090 * 32, 20 * 32).ToArray(), s.ToFloatArray());
        var (c0, _) = ((Tensor, Tensor))ropeRows.Invoke(model, [0, 3])!;
        Assert.Equal(cos.AsSpan(0, 3 * 32).ToArray(), c0.ToFloatArray());
        var e = Assert.Throws<System.Reflection.TargetInvocationException>(() => ropeRows.Invoke(model, [999_990, 20]));
        Assert.Contains("max_position_embeddings", e.InnerException!.Message);
    }

    [Fact]
    public void GenerateMasksIdsBeyondTheTokenizer()
    {
        // A padded vocabulary: 64 extra embedding and lm_head rows. The extra lm_head rows are 3x the rows of the
        // tokens greedy decoding picks on the original model, so without masking they would outscore them (and the
        // tokenizer could not decode them).
        int[] picked;
        using (var original = LlamaModel.Load(RepoPaths.TinyModel))
            picked = Generator.Generate(original, Tokenizer.Load(RepoPaths.TinyModel).Encode("The jury said"), new SamplingOptions { MaxNewTokens = 4 }).ToArray();
        var tensors = FormatHardeningModel.ReadAll(Path.Combine(RepoPaths.TinyModel, "model.safetensors"));
        static float Bf16(ReadOnlySpan<byte> b, int i) => BitConverter.UInt32BitsToSingle((uint)(b[2 * i] | b[2 * i + 1] << 8) << 16);
        TensorToWrite Pad(TensorToWrite t, Func<int, int, float> extra)
        {
            var rows = Enumerable.Range(0, 64 * 256).Select(k => extra(k / 256, k % 256)).ToArray();
            return t with { Shape = [t.Shape[0] + 64, t.Shape[1]], Data = t.Data.ToArray().Concat(Encode(rows, SafeDType.BF16)).ToArray() };
        }
        tensors = tensors.Select(t => t.Name switch
        {
            "model.embed_tokens.weight" => Pad(t, (_, _) => 0.01f),
            "lm_head.weight" => Pad(t, (r, c) => 3 * Bf16(t.Data.Span, picked[r % picked.Length] * 256 + c)),
            _ => t,
        }).ToList();
        var config = Hardening.ReadObject(Path.Combine(RepoPaths.TinyModel, "config.json"));
        config["vocab_size"] = 4096 + 64;
        string dir = scratch.ModelCase(new Dictionary<string, byte[]?>
        {
            ["config.json"] = Hardening.Json(config), ["model.safetensors"] = FormatHardeningModel.Serialize(tensors),
        });
        using var model = LlamaModel.Load(dir);
        var tok = Tokenizer.Load(dir);
        Assert.Equal(4096, tok.VocabSize);
        var prompt = tok.Encode("The jury said");
        var unmasked = Generator.Generate(model, prompt, new SamplingOptions { MaxNewTokens = 4 }).ToArray();
        Assert.Contains(unmasked, id => id >= 4096);   // the padding rows win when nothing masks them
        foreach (var o in new[] { new SamplingOptions { MaxNewTokens = 8, VocabLimit = 4096 },
                     new SamplingOptions { MaxNewTokens = 8, VocabLimit = 4096, Temperature = 1.5f, Seed = 3 } })
            Assert.All(Generator.Generate(model, prompt, o).ToArray(), id => Assert.InRange(id, 0, 4095));
        var (rc, stdout, stderr) = Hardening.Cli("generate", "--model", dir, "--prompt", "The jury said", "--max-new-tokens", "6", "--device", "cpu", "--json");
        Assert.True(rc == 0, stderr);
        Assert.Contains("\"tokens\":", stdout);
    }
}
