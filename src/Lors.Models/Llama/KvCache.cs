// Key/value cache for generation and shared-prefix scoring: per layer, keys and values after RoPE in
// [B, Hkv, MaxT, D] buffers. Gather copies rows (one prefix per row) into a new cache, one gather per buffer.
using Lors.Tensors;

namespace Lors.Models.Llama;

public sealed class KvCache : IDisposable
{
    private readonly Tensor[] _keys, _values;
    // Writes of many rows x heads go through one gather (see Write); its index is the same for every layer of a call.
    private Tensor? _writeIndex;
    private (int length, int t) _writeIndexFor = (-1, -1);
    private const int LoopWriteMaxSlots = 64;

    public KvCache(LlamaModel model, int batch, int maxTokens)
    {
        var c = model.Config;
        MaxTokens = maxTokens;
        using var _ = TensorScope.Detached();
        var shape = new[] { batch, c.NumKeyValueHeads, maxTokens, c.HeadDim };
        _keys = Enumerable.Range(0, c.NumHiddenLayers).Select(_ => Tensor.Zeros(shape, model.ComputeType, model.Device)).ToArray();
        _values = Enumerable.Range(0, c.NumHiddenLayers).Select(_ => Tensor.Zeros(shape, model.ComputeType, model.Device)).ToArray();
    }

    private KvCache(Tensor[] keys, Tensor[] values, int maxTokens, int length)
    {
        (_keys, _values, MaxTokens, Length) = (keys, values, maxTokens, length);
    }

    /// <summary>
    /// A new cache whose row r holds this cache's row rows[r] (all MaxTokens positions; Length carried over): one
    /// cached prefix continued by several sequences. One row gather per layer buffer.
    /// </summary>
    public KvCache Gather(IReadOnlyList<int> rows)
    {
        int b = _keys[0].Shape[0];
        foreach (int r in rows)
            if ((uint)r >= (uint)b) throw new ArgumentOutOfRangeException(nameof(rows), $"KvCache.Gather: row {r} is outside the cache's {b} rows");
        using var _ = TensorScope.Detached();
        using var idx = Tensor.FromArray(rows.ToArray(), [rows.Count], _keys[0].Device);
        Tensor GatherRows(Tensor buf)
        {
            using var flat = buf.Reshape(b, -1);
            using var picked = Ops.Embedding(idx, flat); // [R, Hkv*MaxT*D]
            return picked.Reshape([rows.Count, .. buf.Shape[1..]]);
        }
        return new KvCache(_keys.Select(GatherRows).ToArray(), _values.Select(GatherRows).ToArray(), MaxTokens, Length);
    }

    public int MaxTokens { get; }
    /// <summary>Tokens already in the cache (the position of the next token).</summary>
    public int Length { get; private set; }

    internal void Advance(int tokens)
    {
        Length += tokens;
        _writeIndex?.Dispose();
        _writeIndex = null;
        _writeIndexFor = (-1, -1);
    }

    /// <summary>Writes k, v [B, Hkv, T, D] at positions Length..Length+T and returns views of all cached positions.</summary>
    internal (Tensor k, Tensor v) Append(int layer, Tensor k, Tensor v)
    {
        int t = k.Shape[2];
        if (Length + t > MaxTokens)
            throw new InvalidOperationException($"KvCache: {Length} + {t} tokens exceed the cache's {MaxTokens}");
        _keys[layer] = Write(_keys[layer], k);
        _values[layer] = Write(_values[layer], v);
        return (_keys[layer].Narrow(2, 0, Length + t), _values[layer].Narrow(2, 0, Length + t));
    }

    /// <summary>Writes src [B, H, t, D] at positions Length.. of cache; returns the cache buffer (a new one on the gather path).</summary>
    private Tensor Write(Tensor cache, Tensor src)
    {
        int b = src.Shape[0], h = src.Shape[1], t = src.Shape[2];
        if (b * h > LoopWriteMaxSlots) return WriteByGather(cache, src);
        for (int i = 0; i < b; i++)
            for (int j = 0; j < h; j++)
            {
                using var s1 = src.Select(0, i);
                using var s = s1.Select(0, j);
                using var c1 = cache.Select(0, i);
                using var c2 = c1.Select(0, j);
                using var slot = c2.Narrow(0, Length, t); // rows of one head: contiguous
                Ops.CopyInto(s, slot);
            }
        return cache;
    }

    /// <summary>
    /// Many (row, head) slots: one copy per slot would be thousands of small copies. Instead the old buffer and the new
    /// rows are stacked as one table of D-wide rows and a single gather builds the new buffer (copies only: exact).
    /// </summary>
    private Tensor WriteByGather(Tensor cache, Tensor src)
    {
        int b = src.Shape[0], h = src.Shape[1], t = src.Shape[2], d = src.Shape[3], m = MaxTokens;
        long old = (long)b * h * m;
        using var _ = TensorScope.Detached();
        using var table = Tensor.Empty([checked((int)(old + (long)b * h * t)), d], cache.DType, cache.Device);
        using (var top = table.Narrow(0, 0, (int)old))
        using (var flatCache = cache.Reshape((int)old, d))
            Ops.CopyInto(flatCache, top);
        using (var bottom = table.Narrow(0, (int)old, b * h * t))
        using (var bottom4 = bottom.Reshape(b, h, t, d))
            Ops.CopyInto(src, bottom4);
        if (_writeIndexFor != (Length, t))
        {
            _writeIndex?.Dispose();
            var idx = new int[old];
            for (int q = 0; q < b * h; q++)
                for (int p = 0; p < m; p++)
                    idx[(long)q * m + p] = p >= Length && p < Length + t ? (int)(old + (long)q * t + p - Length) : (int)((long)q * m + p);
            _writeIndex = Tensor.FromArray(idx, [idx.Length], cache.Device);
            _writeIndexFor = (Length, t);
        }
        using var gathered = Ops.Embedding(_writeIndex!, table); // [B*H*MaxT, D]
        var result = gathered.Reshape(b, h, m, d);
        cache.Dispose();
        return result;
    }

    public void Dispose()
    {
        foreach (var t in _keys) t.Dispose();
        foreach (var t in _values) t.Dispose();
        _writeIndex?.Dispose();
    }
}
