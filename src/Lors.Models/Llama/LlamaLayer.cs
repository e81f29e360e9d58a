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
    /// <remarks>
    /// Each block runs in a GraphScope: what it made and no backward reads (the projections before RoPE and their
    /// views, the block output once added to the residual) is freed when the block ends, not at the end of the step.
    /// </remarks>
    public Variable Forward(Variable x, Tensor cos, Tensor sin, KvCache? cache = null)
    {
        float eps = (float)Config.RmsNormEps;
        var h = GraphScope.Run(() => F.Add(x, Attention(F.RmsNorm(x, InputNorm, eps), cos, sin, cache)));
        return GraphScope.Run(() => F.Add(h, Mlp(F.RmsNorm(h, PostAttentionNorm, eps))));
    }

    private Variable Mlp(Variable n) =>
        this[Projection.Down].Forward(F.SwiGlu(this[Projection.Gate].Forward(n), this[Projection.Up].Forward(n)));

    private Variable Attention(Variable x, Tensor cos, Tensor sin, KvCache? cache)
    {
        var c = Config;
        int b = x.Shape[0], t = x.Shape[1], d = c.HeadDim;
        Variable Heads(Variable y, int heads) => F.Permute(F.Reshape(y, b, t, heads, d), 0, 2, 1, 3); // [B, T, H*D] -> [B, H, T, D] (views)
        Variable Rotated(Projection p, int heads) => GraphScope.Run(() => F.Rope(Heads(this[p].Forward(x), heads), cos, sin));

        var q = Rotated(Projection.Q, c.NumAttentionHeads);
        var k = Rotated(Projection.K, c.NumKeyValueHeads);
        var v = Heads(this[Projection.V].Forward(x), c.NumKeyValueHeads);
        if (cache is not null)
        {
            var (kAll, vAll) = cache.Append(Index, k.Data, v.Data);
            (k, v) = (new Variable(kAll), new Variable(vAll));
        }
        var o = F.Attention(q, k, v, 1f / MathF.Sqrt(d));
        var merged = F.Reshape(F.Permute(o, 0, 2, 1, 3), b, t, c.NumAttentionHeads * d); // a copy: the permuted view is strided
        return this[Projection.O].Forward(merged);
    }
}
