// Neural-network ops: softmax, RMSNorm, RoPE, SwiGLU, embedding, cross-entropy, attention, AdamW, the LoRS merge.
// Each forward has its backward right after it. Rows = all leading dims flattened; the last dim is the feature dim.
namespace Lors.Tensors;

public static partial class Ops
{
    private static int Rows(Tensor t) => t.Rank == 0 ? 1 : (int)(t.Numel / Math.Max(1, t.Shape[^1]));

    private static Tensor As2D(Tensor contiguous) => contiguous.Reshape(Rows(contiguous), contiguous.Rank == 0 ? 1 : contiguous.Shape[^1]);

    public static Tensor Softmax(Tensor x, bool log = false)
    {
        CheckFloat("Softmax", x, "x");
        using var dx = D(x);
        using var x2 = As2D(dx);
        var y = x.EmptyLike();
        using var y2 = As2D(y);
        x.Backend.Softmax(x2, y2, log);
        return y;
    }

    public static Tensor LogSoftmax(Tensor x) => Softmax(x, log: true);

    public static Tensor SoftmaxBackward(Tensor y, Tensor gy, bool log = false)
    {
        CheckSameShape("SoftmaxBackward", y, gy, "y", "gy");
        var b = SameBackend("SoftmaxBackward", y, gy);
        using var dy = D(y);
        using var dg = D(gy);
        using var y2 = As2D(dy);
        using var g2 = As2D(dg);
        var gx = y.EmptyLike();
        using var gx2 = As2D(gx);
        b.SoftmaxBackward(y2, g2, gx2, log);
        return gx;
    }

    /// <summary>RMSNorm over the last dim; returns y and the per-row rstd (saved for backward).</summary>
    public static (Tensor y, Tensor rstd) RmsNorm(Tensor x, Tensor w, float eps)
    {
        var b = SameBackend("RmsNorm", x, w);
        CheckFloat("RmsNorm", x, "x");
        if (w.Rank != 1 || w.Shape[0] != x.Shape[^1])
            throw new ArgumentException($"RmsNorm: weight {Tensor.ShapeString(w.Shape)} must be [{x.Shape[^1]}] for x {Tensor.ShapeString(x.Shape)}");
        using var dx = D(x);
        using var dw = D(w);
        using var x2 = As2D(dx);
        var y = x.EmptyLike();
        using var y2 = As2D(y);
        var rstd = Tensor.Empty(x.Shape[..^1], StatType(x), x.Device);
        using var r1 = rstd.Reshape(Rows(x));
        b.RmsNorm(x2, dw, eps, y2, r1);
        return (y, rstd);
    }

    public static (Tensor gx, Tensor gw) RmsNormBackward(Tensor x, Tensor w, Tensor rstd, Tensor gy)
    {
        var b = SameBackend("RmsNormBackward", x, w, rstd, gy);
        CheckSameShape("RmsNormBackward", x, gy, "x", "gy");
        using var dx = D(x);
        using var dg = D(gy);
        using var dw = D(w);
        using var dr = D(rstd);
        using var x2 = As2D(dx);
        using var g2 = As2D(dg);
        using var r1 = dr.T.Reshape(Rows(x));
        var gx = x.EmptyLike();
        using var gx2 = As2D(gx);
        var gw = Tensor.Zeros(w.Shape, StatType(x), w.Device);
        b.RmsNormBackward(x2, dw, r1, g2, gx2, gw);
        return (gx, gw);
    }

    /// <summary>Rotate-half RoPE on x [B, H, T, D] with cos/sin [T, D]; inverse applies the backward rotation.</summary>
    public static Tensor Rope(Tensor x, Tensor cos, Tensor sin, bool inverse = false)
    {
        var b = SameBackend("Rope", x, cos, sin);
        CheckRank("Rope", x, 4, "x");
        int t = x.Shape[2], d = x.Shape[3];
        if (cos.Rank != 2 || cos.Shape[0] != t || cos.Shape[1] != d || !cos.Shape.AsSpan().SequenceEqual(sin.Shape))
            throw new ArgumentException($"Rope: cos {Tensor.ShapeString(cos.Shape)} and sin {Tensor.ShapeString(sin.Shape)} must be [{t}, {d}] for x {Tensor.ShapeString(x.Shape)}");
        if (d % 2 != 0) throw new ArgumentException($"Rope: head dim {d} must be even");
        using var dx = D(x);
        using var dc = D(cos);
        using var ds = D(sin);
        var y = x.EmptyLike();
        b.Rope(dx, dc, ds, y, inverse);
        return y;
    }

    public static Tensor SwiGlu(Tensor gate, Tensor up)
    {
        CheckSameShape("SwiGlu", gate, up, "gate", "up");
        var b = SameBackend("SwiGlu", gate, up);
        using var dg = D(gate);
        using var du = D(up);
        var y = gate.EmptyLike();
        b.SwiGlu(dg, du, y);
        return y;
    }

    public static (Tensor gGate, Tensor gUp) SwiGluBackward(Tensor gate, Tensor up, Tensor gy)
    {
        CheckSameShape("SwiGluBackward", gate, up, "gate", "up");
        CheckSameShape("SwiGluBackward", gate, gy, "gate", "gy");
        var b = SameBackend("SwiGluBackward", gate, up, gy);
        using var dg = D(gate);
        using var du = D(up);
        using var dy = D(gy);
        var gGate = gate.EmptyLike();
        var gUp = up.EmptyLike();
        b.SwiGluBackward(dg, du, dy, gGate, gUp);
        return (gGate, gUp);
    }

    /// <summary>Rows of table [V, C] picked by ids (I32, any shape): result [..ids, C].</summary>
    public static Tensor Embedding(Tensor ids, Tensor table)
    {
        var b = SameBackend("Embedding", ids, table);
        if (ids.DType != DType.I32) throw new ArgumentException($"Embedding: ids must be i32, got {ids.DType.Name()}");
        CheckRank("Embedding", table, 2, "table");
        using var di = D(ids);
        using var i1 = di.T.Reshape(checked((int)ids.Numel));
        var y = Tensor.Empty([.. ids.Shape, table.Shape[1]], table.DType.ComputeType() == DType.F64 ? DType.F64 : table.DType, ids.Device);
        using var y2 = y.Reshape(i1.Shape[0], table.Shape[1]);
        using var dt = D(table);
        b.Embedding(i1, dt, y2);
        return y;
    }

    /// <summary>gTable[ids[i]] += gy[i] (gTable contiguous [V, C]).</summary>
    public static void EmbeddingBackward(Tensor ids, Tensor gy, Tensor gTable)
    {
        var b = SameBackend("EmbeddingBackward", ids, gy, gTable);
        if (!gTable.IsContiguous) throw new ArgumentException("EmbeddingBackward: gTable must be contiguous");
        using var di = D(ids);
        using var i1 = di.T.Reshape(checked((int)ids.Numel));
        using var dg = D(gy);
        using var g2 = dg.T.Reshape(i1.Shape[0], gTable.Shape[1]);
        b.EmbeddingBackward(i1, g2, gTable);
    }

    /// <summary>Per-row losses [N] and log-sum-exp [N] for logits [N, V] and targets I32 [N].</summary>
    public static (Tensor losses, Tensor lse) CrossEntropy(Tensor logits, Tensor targets, int ignoreIndex = -100)
    {
        var b = SameBackend("CrossEntropy", logits, targets);
        CheckRank("CrossEntropy", logits, 2, "logits");
        if (targets.DType != DType.I32 || targets.Rank != 1 || targets.Shape[0] != logits.Shape[0])
            throw new ArgumentException($"CrossEntropy: targets must be i32 [{logits.Shape[0]}], got {targets.DType.Name()} {Tensor.ShapeString(targets.Shape)}");
        using var dl = D(logits);
        using var dt = D(targets);
        var losses = Tensor.Empty([logits.Shape[0]], StatType(logits), logits.Device);
        var lse = Tensor.Empty([logits.Shape[0]], StatType(logits), logits.Device);
        b.CrossEntropy(dl, dt, ignoreIndex, losses, lse);
        return (losses, lse);
    }

    public static Tensor CrossEntropyBackward(Tensor logits, Tensor targets, Tensor lse, float scale, int ignoreIndex = -100)
    {
        var b = SameBackend("CrossEntropyBackward", logits, targets, lse);
        using var dl = D(logits);
        using var dt = D(targets);
        using var ds = D(lse);
        var g = logits.EmptyLike();
        b.CrossEntropyBackward(dl, dt, ds, ignoreIndex, scale, g);
        return g;
    }

    /// <summary>Causal GQA attention: q [B,Hq,T,D], k/v [B,Hkv,S,D]; returns output [B,Hq,T,D] and lse [B,Hq,T].</summary>
    public static (Tensor output, Tensor lse) Attention(Tensor q, Tensor k, Tensor v, float scale)
    {
        var b = SameBackend("Attention", q, k, v);
        CheckAttention(q, k, v);
        using var dq = D(q);
        using var dk = D(k);
        using var dv = D(v);
        var o = q.EmptyLike();
        var lse = Tensor.Empty(q.Shape[..3], StatType(q), q.Device);
        b.Attention(dq, dk, dv, scale, o, lse);
        return (o, lse);
    }

    public static (Tensor gq, Tensor gk, Tensor gv) AttentionBackward(Tensor q, Tensor k, Tensor v, Tensor output, Tensor lse, Tensor gOut, float scale)
    {
        var b = SameBackend("AttentionBackward", q, k, v, output, lse, gOut);
        CheckAttention(q, k, v);
        CheckSameShape("AttentionBackward", q, gOut, "q", "gOut");
        using var dq = D(q);
        using var dk = D(k);
        using var dv = D(v);
        using var dout = D(output);
        using var dl = D(lse);
        using var dg = D(gOut);
        var gq = q.EmptyLike();
        var gk = k.EmptyLike();
        var gv = v.EmptyLike();
        b.AttentionBackward(dq, dk, dv, dout, dl, dg, scale, gq, gk, gv);
        return (gq, gk, gv);
    }

    private static void CheckAttention(Tensor q, Tensor k, Tensor v)
    {
        CheckRank("Attention", q, 4, "q");
        CheckRank("Attention", k, 4, "k");
        CheckSameShape("Attention", k, v, "k", "v");
        bool ok = q.Shape[0] == k.Shape[0] && q.Shape[3] == k.Shape[3] && k.Shape[1] > 0 && q.Shape[1] % k.Shape[1] == 0 && k.Shape[2] >= q.Shape[2];
        if (!ok)
            throw new ArgumentException($"Attention: q {Tensor.ShapeString(q.Shape)} and k/v {Tensor.ShapeString(k.Shape)} must be [B,Hq,T,D] and [B,Hkv,S,D] with Hq % Hkv == 0 and S >= T");
    }

    /// <summary>One AdamW step in place on param, m and v.</summary>
    public static void AdamW(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWArgs args)
    {
        var b = SameBackend("AdamW", param, grad, m, v);
        CheckSameShape("AdamW", param, grad, "param", "grad");
        CheckSameShape("AdamW", param, m, "param", "m");
        CheckSameShape("AdamW", param, v, "param", "v");
        if (!param.IsContiguous || !m.IsContiguous || !v.IsContiguous) throw new ArgumentException("AdamW: param, m and v must be contiguous");
        using var dg = D(grad);
        b.AdamW(param, dg, m, v, args);
    }

    /// <summary>The LoRS merge: (w != 0) ? w + s * delta : 0, in w's dtype.</summary>
    public static Tensor MaskedMerge(Tensor w, Tensor delta, float s)
    {
        var b = SameBackend("MaskedMerge", w, delta);
        CheckSameShape("MaskedMerge", w, delta, "w", "delta");
        using var dw = D(w);
        using var dd = D(delta);
        var y = w.EmptyLike();
        b.MaskedMerge(dw, dd, s, y);
        return y;
    }

    /// <summary>
    /// The fused LoRS merge W' = (W + s A B) * (W != 0) in W's dtype, without forming A B: w [O, I], a [O, r], b [r, I].
    /// Equal to MaskedMerge(w, MatMul(a, b), s) up to fp32 rounding.
    /// </summary>
    public static Tensor MaskedLowRankMerge(Tensor w, Tensor a, Tensor b, float s)
    {
        const string op = "MaskedLowRankMerge";
        var be = SameBackend(op, w, a, b);
        CheckRank(op, w, 2, "w");
        CheckRank(op, a, 2, "a");
        CheckRank(op, b, 2, "b");
        CheckFloat(op, w, "w");
        CheckFloat(op, a, "a");
        CheckFloat(op, b, "b");
        if (a.Shape[0] != w.Shape[0] || b.Shape[1] != w.Shape[1] || a.Shape[1] != b.Shape[0])
            throw new ArgumentException($"{op}: w {Tensor.ShapeString(w.Shape)}, a {Tensor.ShapeString(a.Shape)} and b {Tensor.ShapeString(b.Shape)} must be [O,I], [O,r] and [r,I]");
        // a and b are small (r x (O + I)): bring them to F32 (F64 beside an F64 w) unless they already are F32/BF16.
        var want = w.DType == DType.F64 ? DType.F64 : DType.F32;
        bool Keep(Tensor t) => t.DType == want || (want == DType.F32 && t.DType == DType.BF16);
        using var ca = Keep(a) ? null : a.To(want);
        using var cb = Keep(b) ? null : b.To(want);
        using var da = D(ca ?? a);
        using var db = D(cb ?? b);
        using var dw = D(w);
        var y = w.EmptyLike();
        be.MaskedLowRankMerge(dw, da, db, s, y);
        return y;
    }
}
