// Instruction tuning in the Alpaca format: prompt + output + EOS, loss on the response tokens only (prompt labels -100).
// Padding mode: one example per sequence, truncated to T, padded with the pad id (labels -100).
// Packing mode: examples concatenated into one stream cut into blocks of T (attention then crosses example
// boundaries, as in common packed fine-tuning without per-document masks; the tail is dropped).
namespace Lors.Train.Data;

public enum AlpacaMode { Padding, Packing }

public static class AlpacaDataset
{
    public static SequenceDataset Load(string path, TokenEncoder encoder, int seqLen, AlpacaMode mode = AlpacaMode.Padding, bool addBos = true) =>
        Build(AlpacaRecord.ReadFile(path), encoder, seqLen, mode, addBos);

    /// <summary>
    /// Tokenizes each record. The prompt's token count comes from encoding the prompt alone and the full text
    /// prompt + output together (so the boundary tokenizes as in the whole text); that many leading tokens are masked.
    /// Examples whose response is cut away entirely by truncation carry no loss and are skipped.
    /// </summary>
    public static SequenceDataset Build(IReadOnlyList<AlpacaRecord> records, TokenEncoder encoder, int seqLen,
        AlpacaMode mode = AlpacaMode.Padding, bool addBos = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seqLen);
        var examples = new List<(int[] Ids, int[] Labels)>(records.Count);
        foreach (var r in records)
        {
            var (ids, labels) = Tokenize(r, encoder, addBos);
            examples.Add((ids, labels));
        }
        if (mode == AlpacaMode.Packing)
        {
            var allIds = new List<int>();
            var allLabels = new List<int>();
            foreach (var (ids, labels) in examples) { allIds.AddRange(ids); allLabels.AddRange(labels); }
            return SequenceDataset.Pack(seqLen, allIds, allLabels);
        }
        var padded = new List<(int[], int[])>(examples.Count);
        foreach (var (ids, labels) in examples)
        {
            var pi = new int[seqLen];
            var pl = new int[seqLen];
            Array.Fill(pi, encoder.PadOrFallback);
            Array.Fill(pl, Batch.IgnoreIndex);
            int n = Math.Min(seqLen, ids.Length);
            Array.Copy(ids, pi, n);
            Array.Copy(labels, pl, n);
            if (pl.All(l => l == Batch.IgnoreIndex)) continue;
            padded.Add((pi, pl));
        }
        return new SequenceDataset(seqLen, padded);
    }

    /// <summary>[BOS] + tokens(prompt + output) + [EOS]; labels -100 over BOS and the prompt.</summary>
    public static (int[] Ids, int[] Labels) Tokenize(AlpacaRecord r, TokenEncoder encoder, bool addBos = true)
    {
        var prompt = r.Prompt;
        int promptLen = encoder.Encode(prompt).Length;
        var full = encoder.Encode(prompt + r.Output);
        var ids = new List<int>(full.Length + 2);
        if (addBos && encoder.BosTokenId is int bos) ids.Add(bos);
        int masked = ids.Count + Math.Min(promptLen, full.Length);
        ids.AddRange(full);
        if (encoder.EosTokenId is int eos) ids.Add(eos);
        var labels = ids.ToArray();
        for (int i = 0; i < masked; i++) labels[i] = Batch.IgnoreIndex;
        return (ids.ToArray(), labels);
    }
}
