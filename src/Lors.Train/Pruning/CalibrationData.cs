// Calibration samples: `samples` windows of `seqLen` token ids at seeded random offsets into the token stream of a
// text file (encoded without BOS/EOS, as perplexity is evaluated). Deterministic for a seed on every platform.
using Lors.Models.Tokenization;

namespace Lors.Train.Pruning;

public static class CalibrationData
{
    /// <summary>Encodes the file and draws the windows; errors name the file and the tokens available vs needed.</summary>
    public static IReadOnlyList<int[]> FromText(Tokenizer tokenizer, string path, int samples, int seqLen, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        CheckCounts(samples, seqLen);
        var stream = tokenizer.Encode(Data.TextFile.ReadUtf8(path, "--calib-text"), addSpecialTokens: false);
        return FromTokens(stream, samples, seqLen, seed, $"--calib-text '{path}'");
    }

    /// <summary>
    /// Windows at offsets drawn uniformly from [0, count - seqLen] (windows may overlap, as in the reference
    /// implementations). The stream must hold at least samples * seqLen tokens, so that it could fill them without repeats.
    /// </summary>
    public static IReadOnlyList<int[]> FromTokens(IReadOnlyList<int> stream, int samples, int seqLen, ulong seed, string source = "token stream")
    {
        ArgumentNullException.ThrowIfNull(stream);
        CheckCounts(samples, seqLen);
        long need = (long)samples * seqLen;
        if (stream.Count < need)
            throw new ArgumentException($"{source} has {stream.Count} tokens, fewer than the {need} needed for {samples} samples of {seqLen} tokens", "calibration");
        var rng = new SplitMix64(seed);
        int span = stream.Count - seqLen + 1;
        var result = new int[samples][];
        for (int s = 0; s < samples; s++)
        {
            int offset = (int)rng.NextBelow((ulong)span);
            var w = new int[seqLen];
            for (int t = 0; t < seqLen; t++) w[t] = stream[offset + t];
            result[s] = w;
        }
        return result;
    }

    private static void CheckCounts(int samples, int seqLen)
    {
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, "calibration needs at least one sample");
        if (seqLen < 1) throw new ArgumentOutOfRangeException(nameof(seqLen), seqLen, "calibration sequence length must be positive");
    }

    /// <summary>A tiny fixed generator (SplitMix64) so samples do not depend on System.Random's implementation.</summary>
    private struct SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        public ulong Next()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>Uniform in [0, n) by rejection, so no value is favoured.</summary>
        public ulong NextBelow(ulong n)
        {
            ulong limit = ulong.MaxValue - ulong.MaxValue % n;
            ulong v;
            do v = Next(); while (v >= limit);
            return v % n;
        }
    }
}
