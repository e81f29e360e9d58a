// Fixed-length training examples (ids and labels, each of SeqLen tokens): what TextDataset and AlpacaDataset produce
// and what the sampler draws batches from. Also the deterministic train/validation split.
namespace Lors.Train.Data;

public sealed class SequenceDataset
{
    private readonly List<(int[] Ids, int[] Labels)> _examples;

    public SequenceDataset(int seqLen, IEnumerable<(int[] Ids, int[] Labels)> examples)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seqLen);
        SeqLen = seqLen;
        _examples = new();
        foreach (var (ids, labels) in examples)
        {
            if (ids.Length != seqLen || labels.Length != seqLen)
                throw new ArgumentException($"SequenceDataset: example {_examples.Count} has {ids.Length} ids and {labels.Length} labels, expected {seqLen} each");
            _examples.Add((ids, labels));
        }
    }

    public int SeqLen { get; }
    public int Count => _examples.Count;
    public (int[] Ids, int[] Labels) this[int index] => _examples[index];

    /// <summary>Total positions that carry a loss.</summary>
    public long LabelCount => _examples.Sum(e => (long)e.Labels.Count(l => l != Batch.IgnoreIndex));

    /// <summary>A batch of the given examples, in order.</summary>
    public Batch GetBatch(IReadOnlyList<int> indices, ulong seed = 0)
    {
        int b = indices.Count, t = SeqLen;
        var ids = new int[b * t];
        var labels = new int[b * t];
        for (int i = 0; i < b; i++)
        {
            var (ei, el) = _examples[indices[i]];
            ei.CopyTo(ids, i * t);
            el.CopyTo(labels, i * t);
        }
        return new Batch(ids, labels, b, t, seed);
    }

    /// <summary>
    /// Splits off round(Count * valFraction) examples (at least one when the fraction is positive and Count >= 2) chosen by a
    /// seeded permutation; both parts keep the original order. The same seed and data always give the same split.
    /// </summary>
    public (SequenceDataset Train, SequenceDataset Validation) Split(double valFraction, ulong seed)
    {
        if (valFraction is < 0 or >= 1 || double.IsNaN(valFraction))
            throw new ArgumentOutOfRangeException(nameof(valFraction), valFraction, "validation fraction must be in [0, 1)");
        int nVal = (int)Math.Round(Count * valFraction);
        if (valFraction > 0 && nVal == 0 && Count >= 2) nVal = 1;
        var perm = DeterministicRng.Permutation(Count, DeterministicRng.Mix(seed, 0x5E1175B17UL));
        var isVal = new bool[Count];
        for (int i = 0; i < nVal; i++) isVal[perm[i]] = true;
        var train = Enumerable.Range(0, Count).Where(i => !isVal[i]).Select(i => _examples[i]);
        var val = Enumerable.Range(0, Count).Where(i => isVal[i]).Select(i => _examples[i]);
        return (new SequenceDataset(SeqLen, train), new SequenceDataset(SeqLen, val));
    }

    /// <summary>Cuts a token stream (with per-token labels) into consecutive blocks of SeqLen; the last partial block is dropped.</summary>
    public static SequenceDataset Pack(int seqLen, IReadOnlyList<int> ids, IReadOnlyList<int> labels)
    {
        if (ids.Count != labels.Count) throw new ArgumentException($"Pack: {ids.Count} ids but {labels.Count} labels");
        int blocks = ids.Count / seqLen;
        var list = new List<(int[], int[])>(blocks);
        for (int k = 0; k < blocks; k++)
        {
            var bi = new int[seqLen];
            var bl = new int[seqLen];
            for (int j = 0; j < seqLen; j++) { bi[j] = ids[k * seqLen + j]; bl[j] = labels[k * seqLen + j]; }
            list.Add((bi, bl));
        }
        return new SequenceDataset(seqLen, list);
    }
}
