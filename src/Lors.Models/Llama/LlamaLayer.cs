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
        var attn = Attention(F.RmsNorm(x, InputNorm, eps), cos, sin, cache);
        var h = F.Add(x, attn);
        attn.Release(); // the inputs of residual adds are read by no backward
        var n = F.RmsNorm(h, PostAttentionNorm, eps);
        var mlp = this[Projection.Down].Forward(F.SwiGlu(this[Projection.Gate].Forward(n), this[Projection.Up].Forward(n)));
        var y = F.Add(h, mlp);
        mlp.Release();
        return y;
    }

    private Variable Attention(Variable x, Tensor cos, Tensor sin, KvCache? cache)
    {
        var c = Config;
        int b = x.Shape[0], t = x.Shape[1], d = c.HeadDim;
        var temps = new List<Variable>();
        Variable Heads(Variable y, int heads) // [B, T, H*D] -> [B, H, T, D] (views)
        {
            var r = F.Reshape(y, b, t, heads, d);
            temps.Add(y);
            temps.Add(r);
            return F.Permute(r, 0, 2, 1, 3);
        }
        Variable Rotated(Variable y, int heads)
        {
            var p = Heads(y, heads);
            temps.Add(p);
            return F.Rope(p, cos, sin);
        }

        var q = Rotated(this[Projection.Q].Forward(x), c.NumAttentionHeads);
        var k = Rotated(this[Projection.K].Forward(x), c.NumKeyValueHeads);
        foreach (var tmp in temps) tmp.Release(); // the pre-RoPE projections and their views: RoPE's backward reads none
        var v = Heads(this[Projection.V].Forward(x), c.NumKeyValueHeads);
        if (cache is not null)
        {
            var (kAll, vAll) = cache.Append(Index, k.Data, v.Data);
            (k, v) = (new Variable(kAll), new Variable(vAll));
        }
        var o = F.Attention(q, k, v, 1f / MathF.Sqrt(d));
        var perm = F.Permute(o, 0, 2, 1, 3);
        var merged = F.Reshape(perm, b, t, c.NumAttentionHeads * d); // a copy: perm is strided
        perm.Release();
        return this[Projection.O].Forward(merged);
    }
}
