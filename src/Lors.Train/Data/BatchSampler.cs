// Draws training micro-batches: a seeded permutation per epoch (epoch-dependent, so each epoch sees a new order),
// consecutive slices of B examples from it, the incomplete last slice of an epoch dropped. The position is a DataCursor.
namespace Lors.Train.Data;

public sealed class BatchSampler
{
    private readonly SequenceDataset _data;
    private readonly ulong _seed;
    private readonly bool _shuffle;
    private int[]? _perm;
    private int _permEpoch = -1;

    public BatchSampler(SequenceDataset data, int batchSize, ulong seed, bool shuffle = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (data.Count < batchSize)
            throw new ArgumentException($"BatchSampler: the dataset has {data.Count} examples, fewer than one batch of {batchSize}");
        _data = data;
        BatchSize = batchSize;
        _seed = seed;
        _shuffle = shuffle;
    }

    public int BatchSize { get; }
    public DataCursor Cursor { get; set; } = DataCursor.Start;

    /// <summary>Full batches per epoch.</summary>
    public int BatchesPerEpoch => _data.Count / BatchSize;

    /// <summary>The order of examples in <paramref name="epoch"/>.</summary>
    public int[] Order(int epoch)
    {
        if (_permEpoch != epoch)
        {
            _perm = _shuffle ? DeterministicRng.Permutation(_data.Count, DeterministicRng.Mix(_seed, (ulong)epoch))
                             : Enumerable.Range(0, _data.Count).ToArray();
            _permEpoch = epoch;
        }
        return _perm!;
    }

    /// <summary>The next batch at the cursor; advances it (to the next epoch when fewer than B examples remain).</summary>
    public Batch Next(ulong batchSeed = 0)
    {
        var c = Cursor;
        if (c.Index + BatchSize > _data.Count) c = new DataCursor(c.Epoch + 1, 0);
        var order = Order(c.Epoch);
        var batch = _data.GetBatch(new ArraySegment<int>(order, c.Index, BatchSize), batchSeed);
        Cursor = new DataCursor(c.Epoch, c.Index + BatchSize);
        return batch;
    }

    /// <summary>Consecutive batches in dataset order (no shuffle), the last one possibly smaller: for evaluation.</summary>
    public static IEnumerable<Batch> Sequential(SequenceDataset data, int batchSize, int maxBatches = 0)
    {
        int made = 0;
        for (int i = 0; i < data.Count && (maxBatches <= 0 || made < maxBatches); i += batchSize, made++)
        {
            int n = Math.Min(batchSize, data.Count - i);
            yield return data.GetBatch(Enumerable.Range(i, n).ToArray());
        }
    }
}
