// Pointwise and gather kernels of the Llama layers: RoPE (x [B,H,T,D], cos/sin [T,D]), SwiGLU and its backward,
// embedding gather and its segmented (sorted, deterministic) scatter-add backward, AdamW, the LoRS masked merge.
using ILGPU;
using ILGPU.Algorithms;

namespace Lors.Tensors.Cuda.Kernels;

internal struct AdamArgs
{
    public float Lr, Beta1, Beta2, Eps, WeightDecay, GradScale;
    /// <summary>Bias corrections 1 - beta^step, computed on the host in double.</summary>
    public float Bc1, Bc2;
    public int TParam, TGrad;
}

internal static class NnKernels
{
    /// <summary>
    /// Rotate-half RoPE: y = x cos + rotate_half(x) sin. The inverse is the exact transpose: the partner element's sin,
    /// negated (the same as negating sin only when the table's halves repeat, as real RoPE tables do).
    /// </summary>
    public static void Rope(Index1D i, ArrayView<byte> x, ArrayView<byte> cos, ArrayView<byte> sin, ArrayView<byte> y, int dt, int tc, int t, int d, int inverse)
    {
        int di = i % d;
        int ti = (i / d) % t;
        int h = d / 2;
        float rot = di < h ? -Elem.Ld(x, dt, i + h) : Elem.Ld(x, dt, i - h);
        long cs = (long)ti * d + di;
        float s = inverse != 0 ? -Elem.Ld(sin, tc, (long)ti * d + (di < h ? di + h : di - h)) : Elem.Ld(sin, tc, cs);
        Elem.St(y, dt, i, Elem.Ld(x, dt, i) * Elem.Ld(cos, tc, cs) + rot * s);
    }

    /// <summary>
    /// RoPE with axes 1 and 2 swapped: element i of y [B, Y1, Y2, D] comes from x [B, Y2, Y1, D]; the position is Y2's
    /// index when tokensFirst != 0 (y is [B, H, T, D]), else Y1's (y is [B, T, H, D]).
    /// </summary>
    public static void RopeSwap(Index1D i, ArrayView<byte> x, ArrayView<byte> cos, ArrayView<byte> sin, ArrayView<byte> y, int dt, int tc, int y1, int y2, int d, int inverse, int tokensFirst)
    {
        int di = i % d;
        int row = i / d;
        int j = row % y2, r1 = row / y2 % y1, b = row / y2 / y1;
        long src = ((long)(b * y2 + j) * y1 + r1) * d;
        int ti = tokensFirst != 0 ? j : r1;
        int h = d / 2;
        float rot = di < h ? -Elem.Ld(x, dt, src + di + h) : Elem.Ld(x, dt, src + di - h);
        long cs = (long)ti * d + di;
        float s = Elem.Ld(sin, tc, cs);
        if (inverse != 0) s = -s;
        Elem.St(y, dt, i, Elem.Ld(x, dt, src + di) * Elem.Ld(cos, tc, cs) + rot * s);
    }

    public static void SwiGlu(Index1D i, ArrayView<byte> gate, ArrayView<byte> up, ArrayView<byte> y, int dt)
    {
        float g = Elem.Ld(gate, dt, i);
        Elem.St(y, dt, i, g / (1f + XMath.Exp(-g)) * Elem.Ld(up, dt, i));
    }

    public static void SwiGluBackward(Index1D i, ArrayView<byte> gate, ArrayView<byte> up, ArrayView<byte> gy, ArrayView<byte> gGate, ArrayView<byte> gUp, int dt)
    {
        float g = Elem.Ld(gate, dt, i), u = Elem.Ld(up, dt, i), dy = Elem.Ld(gy, dt, i);
        float s = 1f / (1f + XMath.Exp(-g));
        Elem.St(gGate, dt, i, dy * u * s * (1f + g * (1f - s)));
        Elem.St(gUp, dt, i, dy * g * s);
    }

    /// <summary>One block per id: y[row, :] = table[id, :]; an id outside [0, v) writes zeros and records row + 1 in bad[0].</summary>
    public static void Embedding(ArrayView<int> ids, ArrayView<byte> table, ArrayView<byte> y, ArrayView<int> bad, int tt, int ty, int v, int c)
    {
        int row = Grid.IdxX;
        int id = ids[row];
        bool ok = id >= 0 && id < v;
        if (!ok && Group.IdxX == 0) Atomic.Exchange(ref bad[0], row + 1);
        for (int k = Group.IdxX; k < c; k += Group.DimX)
            Elem.St(y, ty, (long)row * c + k, ok ? Elem.Ld(table, tt, (long)id * c + k) : 0f);
    }

    /// <summary>
    /// One block per distinct id: rows order[start[s] .. start[s+1]) all have id segIds[s]; their gy rows are summed
    /// in that (sorted, stable) order and added to gTable[id]. No atomics, so the result is deterministic.
    /// </summary>
    public static void EmbeddingBackward(ArrayView<int> order, ArrayView<int> start, ArrayView<int> segIds, ArrayView<byte> gy, ArrayView<byte> gTable, int tg, int tt, int c)
    {
        int s = Grid.IdxX;
        int id = segIds[s], r0 = start[s], r1 = start[s + 1];
        for (int k = Group.IdxX; k < c; k += Group.DimX)
        {
            float acc = 0f;
            for (int r = r0; r < r1; r++) acc += Elem.Ld(gy, tg, (long)order[r] * c + k);
            long o = (long)id * c + k;
            Elem.St(gTable, tt, o, Elem.Ld(gTable, tt, o) + acc);
        }
    }

    public static void AdamW(Index1D i, ArrayView<byte> p, ArrayView<byte> grad, ArrayView<float> m, ArrayView<float> v, AdamArgs a)
    {
        float g = Elem.Ld(grad, a.TGrad, i) * a.GradScale;
        float mi = a.Beta1 * m[i] + (1f - a.Beta1) * g;
        float vi = a.Beta2 * v[i] + (1f - a.Beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        float w = Elem.Ld(p, a.TParam, i);
        float mhat = mi / a.Bc1, vhat = vi / a.Bc2;
        w -= a.Lr * (a.WeightDecay * w + mhat / (XMath.Sqrt(vhat) + a.Eps));
        Elem.St(p, a.TParam, i, w);
    }

    /// <summary>y = w != 0 ? w + s delta : 0 (delta F32; y in w's dtype): zeros of W stay exactly zero.</summary>
    public static void MaskedMerge(Index1D i, ArrayView<byte> w, ArrayView<float> delta, ArrayView<byte> y, int tw, float s)
    {
        float x = Elem.Ld(w, tw, i);
        Elem.St(y, tw, i, x != 0f ? x + s * delta[i] : 0f);
    }
}
