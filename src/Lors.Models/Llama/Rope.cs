// Rotary position embedding tables reproducing transformers' Llama RoPE init (default, linear, llama3)
// and LlamaRotaryEmbedding.forward, step by step in float32 as PyTorch computes them on the CPU.
using Lors.Models.Formats;

namespace Lors.Models.Llama;

public static class Rope
{
    /// <summary>inv_freq, head_dim/2 values. Every step is rounded to float32 in transformers' order
    /// (PyTorch keeps these tensors in float32 and casts Python scalars to float32), and the result is
    /// widened to double only at the end, so the doubles hold HF's float32 values: bit-exact against
    /// transformers 5.17 on the CPU for default, linear and llama3 (RopeHfReferenceTests). HF buffers
    /// computed on CUDA can differ in the last bit, because CUDA divides by a scalar via its reciprocal.</summary>
    public static double[] InverseFrequencies(LlamaConfig c)
    {
        float[] inv = DefaultInverse(c.RopeTheta, c.HeadDim);
        switch (c.RopeScaling?.Type)
        {
            case null or "default":
                break;
            case "linear":
                float f = (float)c.RopeScaling.Factor;
                for (int i = 0; i < inv.Length; i++) inv[i] /= f;
                break;
            case "llama3":
                Llama3(inv, c.RopeScaling);
                break;
            default:
                throw new NotSupportedException($"RoPE type '{c.RopeScaling.Type}' is not supported");
        }
        return Array.ConvertAll(inv, x => (double)x);
    }

    /// <summary>Scale applied to cos and sin: 1 for default, linear and llama3 (only yarn/longrope differ).</summary>
    public static float AttentionScaling(LlamaConfig c) => 1.0f;

    /// <summary>Fills cos and sin, [positions, headDim] row-major, in the rotate-half layout
    /// (emb = cat(freqs, freqs)), for positions 0 .. positions-1.</summary>
    public static void CosSin(LlamaConfig c, int positions, float[] cos, float[] sin)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(positions);
        int[] ids = new int[positions];
        for (int i = 0; i < ids.Length; i++) ids[i] = i;
        CosSin(c, ids, cos, sin);
    }

    /// <summary>Fills cos and sin, [positionIds.Length, headDim] row-major, for arbitrary position ids
    /// (e.g. continuing after a cache), in the rotate-half layout.</summary>
    public static void CosSin(LlamaConfig c, ReadOnlySpan<int> positionIds, Span<float> cos, Span<float> sin)
    {
        int d = c.HeadDim, half = d / 2;
        long need = (long)positionIds.Length * d;
        if (cos.Length < need || sin.Length < need)
            throw new ArgumentException($"cos and sin need {need} elements ([{positionIds.Length}, {d}]), have {cos.Length} and {sin.Length}");
        float[] inv = Array.ConvertAll(InverseFrequencies(c), x => (float)x);
        float scale = AttentionScaling(c);
        for (int r = 0; r < positionIds.Length; r++)
        {
            float pos = positionIds[r];   // HF casts position_ids to float32 before the product
            int row = r * d;
            for (int i = 0; i < half; i++)
            {
                // inv_freq @ position with an inner dimension of 1: one float32 product per element.
                float freq = inv[i] * pos;
                float cs = MathF.Cos(freq) * scale, sn = MathF.Sin(freq) * scale;
                cos[row + i] = cs;
                cos[row + half + i] = cs;
                sin[row + i] = sn;
                sin[row + half + i] = sn;
            }
        }
    }

    // HF: 1.0 / (base ** (arange(0, dim, 2, int64).float() / dim)). The exponent is a float32 division,
    // the power a float32 pow with base cast to float32, and `1.0 / t` is Tensor.__rtruediv__, which
    // PyTorch evaluates as t.reciprocal() * 1.0 - identical to a float32 1/t.
    private static float[] DefaultInverse(double theta, int dim)
    {
        var inv = new float[dim / 2];
        float b = (float)theta;
        for (int i = 0; i < inv.Length; i++)
        {
            float exponent = (float)(2 * i) / dim;
            inv[i] = 1.0f / MathF.Pow(b, exponent);
        }
        return inv;
    }

    // HF _compute_llama3_parameters: long wavelengths (> old_len / low_freq_factor) are divided by factor,
    // short ones (< old_len / high_freq_factor) kept, and those in between interpolated smoothly.
    private static void Llama3(float[] inv, RopeScaling s)
    {
        // The Python-side scalars stay double until they meet a float32 tensor, where they are cast.
        double lowFactor = s.LowFreqFactor!.Value, highFactor = s.HighFreqFactor!.Value;
        double oldLen = s.OriginalMaxPositionEmbeddings!.Value;
        float factor = (float)s.Factor;
        float low = (float)lowFactor;
        float lowWavelen = (float)(oldLen / lowFactor);
        float highWavelen = (float)(oldLen / highFactor);
        float twoPi = (float)(2 * Math.PI);
        float oldLenF = (float)oldLen;
        float span = (float)(highFactor - lowFactor);
        for (int i = 0; i < inv.Length; i++)
        {
            float x = inv[i];
            float wavelen = (1.0f / x) * twoPi;                          // 2*pi / inv_freq  (__rtruediv__)
            float llama = wavelen > lowWavelen ? x / factor : x;
            float smooth = ((1.0f / wavelen) * oldLenF - low) / span;   // (old_len / wavelen - low) / (high - low)
            float smoothed = (1.0f - smooth) * llama / factor + smooth * llama;
            bool medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
            inv[i] = medium ? smoothed : llama;
        }
    }
}
