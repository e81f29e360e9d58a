// Key/value cache for generation: per layer, keys and values after RoPE in [B, Hkv, MaxT, D] buffers.
using Lors.Tensors;

namespace Lors.Models.Llama;

public sealed class KvCache : IDisposable
{
    private readonly Tensor[] _keys, _values;

    public KvCache(LlamaModel model, int batch, int maxTokens)
    {
        var c = model.Config;
        MaxTokens = maxTokens;
        using var _ = TensorScope.Detached();
        var shape = new[] { batch, c.NumKeyValueHeads, maxTokens, c.HeadDim };
        _keys = Enumerable.Range(0, c.NumHiddenLayers).Select(_ => Tensor.Zeros(shape, model.ComputeType, model.Device)).ToArray();
        _values = Enumerable.Range(0, c.NumHiddenLayers).Select(_ => Tensor.Zeros(shape, model.ComputeType, model.Device)).ToArray();
    }

    public int MaxTokens { get; }
    /// <summary>Tokens already in the cache (the position of the next token).</summary>
    public int Length { get; private set; }

    internal void Advance(int tokens) => Length += tokens;

    /// <summary>Writes k, v [B, Hkv, T, D] at positions Length..Length+T and returns views of all cached positions.</summary>
    internal (Tensor k, Tensor v) Append(int layer, Tensor k, Tensor v)
    {
        int t = k.Shape[2];
        if (Length + t > MaxTokens)
            throw new InvalidOperationException($"KvCache: {Length} + {t} tokens exceed the cache's {MaxTokens}");
        Write(_keys[layer], k);
        Write(_values[layer], v);
        return (_keys[layer].Narrow(2, 0, Length + t), _values[layer].Narrow(2, 0, Length + t));
    }

    private void Write(Tensor cache, Tensor src)
    {
        int b = src.Shape[0], h = src.Shape[1], t = src.Shape[2];
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
    }

    public void Dispose()
    {
        foreach (var t in _keys) t.Dispose();
        foreach (var t in _values) t.Dispose();
    }
}
