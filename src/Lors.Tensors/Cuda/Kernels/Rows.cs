// Row kernels, one block per row of [rows, n] (last axis = features): softmax and its backward, RMSNorm and its
// backward (gw through per-chunk partials, no atomics), cross-entropy over vocab rows and its backward.
using ILGPU;
using ILGPU.Algorithms;

namespace Lors.Tensors.Cuda.Kernels;

internal static class RowKernels
{
    public static void Softmax(ArrayView<byte> x, ArrayView<byte> y, int dt, int n, int log)
    {
        var sh = SharedMemory.Allocate<float>(32);
        long b = (long)Grid.IdxX * n;
        int tid = Group.IdxX, nt = Group.DimX;
        float m = float.NegativeInfinity;
        for (int k = tid; k < n; k += nt) m = Elem.Max(m, Elem.Ld(x, dt, b + k));
        m = Block.Max(m, sh);
        float s = 0f;
        for (int k = tid; k < n; k += nt) s += XMath.Exp(Elem.Ld(x, dt, b + k) - m);
        s = Block.Sum(s, sh);
        float logS = XMath.Log(s), inv = 1f / s;
        for (int k = tid; k < n; k += nt)
        {
            float v = Elem.Ld(x, dt, b + k) - m;
            Elem.St(y, dt, b + k, log != 0 ? v - logS : XMath.Exp(v) * inv);
        }
    }

    /// <summary>softmax: gx = y (gy - sum(gy y)); log-softmax: gx = gy - exp(y) sum(gy).</summary>
    public static void SoftmaxBackward(ArrayView<byte> y, ArrayView<byte> gy, ArrayView<byte> gx, int dt, int n, int log)
    {
        var sh = SharedMemory.Allocate<float>(32);
        long b = (long)Grid.IdxX * n;
        int tid = Group.IdxX, nt = Group.DimX;
        float s = 0f;
        for (int k = tid; k < n; k += nt)
        {
            float g = Elem.Ld(gy, dt, b + k);
            s += log != 0 ? g : g * Elem.Ld(y, dt, b + k);
        }
        s = Block.Sum(s, sh);
        for (int k = tid; k < n; k += nt)
        {
            float g = Elem.Ld(gy, dt, b + k), v = Elem.Ld(y, dt, b + k);
            Elem.St(gx, dt, b + k, log != 0 ? g - XMath.Exp(v) * s : v * (g - s));
        }
    }

    /// <summary>y = x rstd w with rstd = 1/sqrt(mean(x^2) + eps); w has its own dtype tw.</summary>
    public static void RmsNorm(ArrayView<byte> x, ArrayView<byte> w, ArrayView<byte> y, ArrayView<float> rstd, int dt, int tw, int c, float eps)
    {
        var sh = SharedMemory.Allocate<float>(32);
        long b = (long)Grid.IdxX * c;
        int tid = Group.IdxX, nt = Group.DimX;
        float ss = 0f;
        for (int k = tid; k < c; k += nt) { float v = Elem.Ld(x, dt, b + k); ss += v * v; }
        ss = Block.Sum(ss, sh);
        float r = 1f / XMath.Sqrt(ss / c + eps);
        for (int k = tid; k < c; k += nt) Elem.St(y, dt, b + k, Elem.Ld(x, dt, b + k) * r * Elem.Ld(w, tw, k));
        if (tid == 0) rstd[Grid.IdxX] = r;
    }

    /// <summary>gx = r (gy w - x r^2 mean(gy w x)) per row.</summary>
    public static void RmsNormBackward(ArrayView<byte> x, ArrayView<byte> w, ArrayView<float> rstd, ArrayView<byte> gy, ArrayView<byte> gx, int dt, int tw, int c)
    {
        var sh = SharedMemory.Allocate<float>(32);
        long b = (long)Grid.IdxX * c;
        int tid = Group.IdxX, nt = Group.DimX;
        float r = rstd[Grid.IdxX];
        float dot = 0f;
        for (int k = tid; k < c; k += nt) dot += Elem.Ld(gy, dt, b + k) * Elem.Ld(w, tw, k) * Elem.Ld(x, dt, b + k);
        dot = Block.Sum(dot, sh) / c;
        for (int k = tid; k < c; k += nt)
        {
            float g = Elem.Ld(gy, dt, b + k) * Elem.Ld(w, tw, k);
            Elem.St(gx, dt, b + k, r * (g - Elem.Ld(x, dt, b + k) * r * r * dot));
        }
    }

    /// <summary>partial[chunk, k] = sum over the chunk's rows of gy x rstd (thread per (chunk, k), coalesced over k).</summary>
    public static void RmsNormGwPartial(Index1D t, ArrayView<byte> x, ArrayView<float> rstd, ArrayView<byte> gy, ArrayView<float> partial, int dt, int c, int rows, int rowsPerChunk)
    {
        int k = t % c, chunk = t / c;
        int r0 = chunk * rowsPerChunk, r1 = r0 + rowsPerChunk < rows ? r0 + rowsPerChunk : rows;
        float acc = 0f;
        for (int r = r0; r < r1; r++) acc += Elem.Ld(gy, dt, (long)r * c + k) * Elem.Ld(x, dt, (long)r * c + k) * rstd[r];
        partial[t] = acc;
    }

    /// <summary>gw[k] += sum of partial[:, k] in chunk order.</summary>
    public static void RmsNormGwFinal(Index1D k, ArrayView<float> partial, ArrayView<byte> gw, int tgw, int c, int chunks)
    {
        float acc = 0f;
        for (int ch = 0; ch < chunks; ch++) acc += partial[(long)ch * c + k];
        Elem.St(gw, tgw, k, Elem.Ld(gw, tgw, k) + acc);
    }

    /// <summary>lse = log sum exp(row); loss = lse - row[t], 0 for ignored rows, NaN for a target outside [0, v).</summary>
    public static void CrossEntropy(ArrayView<byte> logits, ArrayView<int> targets, ArrayView<float> losses, ArrayView<float> lse, int dt, int v, int ignore)
    {
        var sh = SharedMemory.Allocate<float>(32);
        int row = Grid.IdxX;
        long b = (long)row * v;
        int tid = Group.IdxX, nt = Group.DimX;
        float m = float.NegativeInfinity;
        for (int k = tid; k < v; k += nt) m = Elem.Max(m, Elem.Ld(logits, dt, b + k));
        m = Block.Max(m, sh);
        float s = 0f;
        for (int k = tid; k < v; k += nt) s += XMath.Exp(Elem.Ld(logits, dt, b + k) - m);
        s = Block.Sum(s, sh);
        if (tid == 0)
        {
            float l = m + XMath.Log(s);
            int t = targets[row];
            lse[row] = l;
            losses[row] = t == ignore ? 0f : t < 0 || t >= v ? float.NaN : l - Elem.Ld(logits, dt, b + t);
        }
    }

    public static void CrossEntropyBackward(ArrayView<byte> logits, ArrayView<int> targets, ArrayView<float> lse, ArrayView<byte> g, int dt, int v, int ignore, float scale)
    {
        int row = Grid.IdxX;
        long b = (long)row * v;
        int t = targets[row];
        float l = lse[row];
        for (int k = Group.IdxX; k < v; k += Group.DimX)
        {
            float r = t == ignore ? 0f : scale * (XMath.Exp(Elem.Ld(logits, dt, b + k) - l) - (k == t ? 1f : 0f));
            Elem.St(g, dt, b + k, r);
        }
    }
}
