// Causal GQA attention forward (output, lse) and backward (gq, gk, gv) against a naive [T, S] reference,
// for S == T, S > T (a cached prefix), several group sizes and head dims, blocks that are not full tiles.
using Lors.Tensors;

namespace Lors.Tests.Backend;

public abstract partial class BackendSuite
{
    /// <summary>Naive attention and its gradient in double: materializes P [T, S] per head.</summary>
    protected static (double[] o, double[] lse, double[] gq, double[] gk, double[] gv) AttentionRef(
        double[] q, double[] k, double[] v, double[] go, int b, int hq, int hkv, int t, int s, int d, double scale, DType dt)
    {
        var o = new double[b * hq * t * d];
        var lse = new double[b * hq * t];
        var gq = new double[q.Length];
        var gk = new double[k.Length];
        var gv = new double[v.Length];
        int group = hq / hkv;
        for (int bi = 0; bi < b; bi++)
            for (int h = 0; h < hq; h++)
            {
                int qo = (bi * hq + h) * t * d, ko = (bi * hkv + h / group) * s * d;
                var p = new double[t, s];
                for (int i = 0; i < t; i++)
                {
                    int visible = s - t + i + 1;
                    double mx = double.NegativeInfinity;
                    for (int j = 0; j < visible; j++)
                    {
                        double dot = 0;
                        for (int c = 0; c < d; c++) dot += q[qo + i * d + c] * k[ko + j * d + c];
                        p[i, j] = dot * scale;
                        mx = Math.Max(mx, p[i, j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < visible; j++) sum += Math.Exp(p[i, j] - mx);
                    lse[(bi * hq + h) * t + i] = mx + Math.Log(sum);
                    for (int j = 0; j < s; j++) p[i, j] = j < visible ? Math.Exp(p[i, j] - mx) / sum : 0;
                    for (int c = 0; c < d; c++)
                    {
                        double acc = 0;
                        for (int j = 0; j < visible; j++) acc += p[i, j] * v[ko + j * d + c];
                        o[qo + i * d + c] = acc;
                    }
                }
                for (int i = 0; i < t; i++)
                {
                    var dp = new double[s];
                    double di = 0;
                    for (int c = 0; c < d; c++) di += go[qo + i * d + c] * Round(o[qo + i * d + c], dt); // the saved output, as stored
                    for (int j = 0; j < s; j++)
                    {
                        if (p[i, j] == 0) continue;
                        for (int c = 0; c < d; c++)
                        {
                            dp[j] += go[qo + i * d + c] * v[ko + j * d + c];
                            gv[ko + j * d + c] += p[i, j] * go[qo + i * d + c];
                        }
                        double ds = p[i, j] * (dp[j] - di) * scale;
                        for (int c = 0; c < d; c++)
                        {
                            gq[qo + i * d + c] += ds * k[ko + j * d + c];
                            gk[ko + j * d + c] += ds * q[qo + i * d + c];
                        }
                    }
                }
            }
        return (o, lse, gq, gk, gv);
    }

    protected void CheckAttention(int b, int hq, int hkv, int t, int s, int d, DType dt)
    {
        double scale = (float)(1 / Math.Sqrt(d)); // the op takes a float scale
        var q = Round(Rand(b * hq * t * d, t + d, -2, 2), dt);
        var k = Round(Rand(b * hkv * s * d, s + d + 1, -2, 2), dt);
        var v = Round(Rand(b * hkv * s * d, s + d + 2), dt);
        var go = Round(Rand(b * hq * t * d, t + 3), dt);
        var r = AttentionRef(q, k, v, go, b, hq, hkv, t, s, d, scale, dt);
        using var qt = Make(q, [b, hq, t, d], dt);
        using var kt = Make(k, [b, hkv, s, d], dt);
        using var vt = Make(v, [b, hkv, s, d], dt);
        using var gt = Make(go, [b, hq, t, d], dt);
        string what = $"attention {dt} B={b} Hq={hq} Hkv={hkv} T={t} S={s} D={d}";
        var (ot, lt) = Ops.Attention(qt, kt, vt, (float)scale);
        using (ot)
        using (lt)
        {
            Close(r.o, ot, Tol(dt) * 2, what + " out", 0.1);
            Close(r.lse, lt, dt == DType.F64 ? 1e-10 : 1e-5, what + " lse", 0.2);
            // The backward takes the reference's output (rounded to dt) like a caller would pass the saved one.
            using var oIn = Make(Round(r.o, dt), [b, hq, t, d], dt);
            var (gq, gk, gv) = Ops.AttentionBackward(qt, kt, vt, oIn, lt, gt, (float)scale);
            using (gq)
            using (gk)
            using (gv)
            {
                double tol = dt == DType.BF16 ? 3e-2 : Tol(dt) * 5;
                Close(r.gq, gq, tol, what + " gq", 0.1, absFloor: 0.1);
                Close(r.gk, gk, tol, what + " gk", 0.1, absFloor: 0.1);
                Close(r.gv, gv, tol, what + " gv", 0.1, absFloor: 0.1);
            }
        }
    }

    [BackendFact]
    public void AttentionSmallShapes() => ForEachLevel(() =>
    {
        foreach (var dt in FloatTypes)
        {
            CheckAttention(1, 1, 1, 1, 1, 2, dt);
            CheckAttention(2, 4, 2, 5, 5, 8, dt);
            CheckAttention(1, 3, 1, 4, 9, 6, dt);
            CheckAttention(1, 2, 2, 3, 3, 32, dt);
        }
    });

    [BackendFact]
    public void AttentionAcrossTileBoundaries() => ForEachLevel(() =>
    {
        // T and S beyond one 64-row / 64-key tile, D at and between the vector widths the kernels use.
        CheckAttention(1, 4, 2, 70, 70, 32, DType.F32);
        CheckAttention(2, 2, 1, 67, 131, 16, DType.F32);
        CheckAttention(1, 2, 2, 129, 129, 64, DType.F32);
        CheckAttention(1, 1, 1, 66, 66, 128, DType.F32);
        CheckAttention(1, 2, 1, 65, 80, 24, DType.F32);
        if (FloatTypes.Contains(DType.F64)) CheckAttention(1, 2, 2, 65, 65, 64, DType.F64);
        CheckAttention(1, 2, 1, 65, 80, 32, DType.BF16);
    });
}
