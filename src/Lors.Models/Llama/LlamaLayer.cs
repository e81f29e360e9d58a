// One decoder layer: x + Attn(RMSNorm(x)), then h + MLP(RMSNorm(h)). Activations are [B, T, C];
// attention works on [B, H, T, D] (H = heads, D = head dim) with grouped key/value heads.
using Lors.Autograd;
using Lors.Models.Formats;
using Lors.Tensors;

namespace Lors.Models.Llama;

public sealed class LlamaLayer
{
    private readonly ILinear[] _proj = new ILinear[Projections.All.Length];

    internal LlamaLayer(int index, LlamaConfig config, Variable inputNorm, Variable postNorm, IReadOnlyDictionary<Projection, ILinear> projections)
    {
        Index = index;
        Config = config;
        InputNorm = inputNorm;
        PostAttentionNorm = postNorm;
        foreach (var p in Projections.All) _proj[(int)p] = projections[p];
    }

    public int Index { get; }
    public LlamaConfig Config { get; }
    /// <summary>RMSNorm weights; settable so a caller can swap in a trainable leaf.</summary>
    public Variable InputNorm { get; set; }
    public Variable PostAttentionNorm { get; set; }

    /// <summary>The linear layer of a projection; the setter lets an adapter wrap it.</summary>
    public ILinear this[Projection p]
    {
        get => _proj[(int)p];
        set
        {
            var old = _proj[(int)p];
            if (value.InFeatures != old.InFeatures || value.OutFeatures != old.OutFeatures)
                throw new ArgumentException($"layer {Index} {p.Short()}_proj: replacement is [{value.OutFeatures}, {value.InFeatures}], expected [{old.OutFeatures}, {old.InFeatures}]");
            _proj[(int)p] = value;
        }
    }

    /// <summary>x [B, T, C]; cos/sin [T, D] for this call's positions; cache (generation only) holds earlier keys/values.</summary>
    public Variable Forward(Variable x, Tensor cos, Tensor sin, KvCache? cache = null)
    {
        var c = Config;
        float eps = (float)c.RmsNormEps;
        var h = F.Add(x, Attention(F.RmsNorm(x, InputNorm, eps), cos, sin, cache));
        var n = F.RmsNorm(h, PostAttentionNorm, eps);
        var mlp = this[Projection.Down].Forward(F.SwiGlu(this[Projection.Gate].Forward(n), this[Projection.Up].Forward(n)));
        return F.Add(h, mlp);
    }

    private Variable Attention(Variable x, Tensor cos, Tensor sin, KvCache? cache)
    {
        var c = Config;
        int b = x.Shape[0], t = x.Shape[1], d = c.HeadDim;
        Variable Heads(Variable y, int heads) => F.Permute(F.Reshape(y, b, t, heads, d), 0, 2, 1, 3); // [B, H, T, D]

        var q = F.Rope(Heads(this[Projection.Q].Forward(x), c.NumAttentionHeads), cos, sin);
        var k = F.Rope(Heads(this[Projection.K].Forward(x), c.NumKeyValueHeads), cos, sin);
        var v = Heads(this[Projection.V].Forward(x), c.NumKeyValueHeads);
        if (cache is not null)
        {
            var (kAll, vAll) = cache.Append(Index, k.Data, v.Data);
            (k, v) = (new Variable(kAll), new Variable(vAll));
        }
        var o = F.Attention(q, k, v, 1f / MathF.Sqrt(d));
        var merged = F.Reshape(F.Permute(o, 0, 2, 1, 3), b, t, c.NumAttentionHeads * d);
        return this[Projection.O].Forward(merged);
    }
}
