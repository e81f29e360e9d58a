// Pruning ops on the CPU, the slow references of the CUDA kernels: the lowest-k mask per row of scores [rows, n]
// (sort and threshold, as Lors.Train's host pruning does), SparseGPT's block inverse Cholesky [k, k] (in double)
// and SparseGPT's column loop over transposed weights [count, rows] (in fp32, one row of W at a time).
namespace Lors.Tensors.Cpu;

public sealed unsafe partial class CpuBackend
{
    public void MaskLowest(Tensor scores, Tensor counts, Tensor mask)
    {
        int rows = scores.Shape[0], n = scores.Shape[1];
        float* s = F(scores);
        int* c = I(counts);
        byte* m = Ptr(mask);
        bool oneCount = counts.Shape[0] == 1;
        Parallel.For(0, rows, Opts((long)rows * n), r =>
        {
            float* row = s + (long)r * n;
            byte* keep = m + (long)r * n;
            long k = c[oneCount ? 0 : r];
            if (k <= 0) { new Span<byte>(keep, n).Fill(1); return; }
            if (k >= n) { new Span<byte>(keep, n).Clear(); return; }
            // The k-th smallest score is the threshold: everything below goes, then ties at it in index order.
            var sorted = new ReadOnlySpan<float>(row, n).ToArray();
            Array.Sort(sorted);
            float threshold = sorted[k - 1];
            long below = 0;
            for (int i = 0; i < n; i++) if (row[i] < threshold) below++;
            long ties = k - below;
            for (int i = 0; i < n; i++)
            {
                float v = row[i];
                bool prune = v < threshold || (v == threshold && ties-- > 0);
                keep[i] = prune ? (byte)0 : (byte)1;
            }
        });
    }

    public void InverseCholeskyBlock(Tensor s, Tensor u, Tensor info)
    {
        int k = s.Shape[0];
        float* sp = F(s);
        float* up = F(u);
        long ld = u.Strides[0];
        // Index reversal turns the lower Cholesky into the upper one: R = J S J = L L^T gives S = V V^T, V = J L J.
        var a = new double[(long)k * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) a[(long)i * k + j] = sp[(long)(k - 1 - i) * k + (k - 1 - j)];
        for (int j = 0; j < k; j++)
        {
            double d = a[(long)j * k + j];
            for (int c = 0; c < j; c++) d -= a[(long)j * k + c] * a[(long)j * k + c];
            if (!(d > 0)) { I(info)[0] = j + 1; return; }
            double l = Math.Sqrt(d);
            a[(long)j * k + j] = l;
            for (int i = j + 1; i < k; i++)
            {
                double v = a[(long)i * k + j];
                for (int c = 0; c < j; c++) v -= a[(long)i * k + c] * a[(long)j * k + c];
                a[(long)i * k + j] = v / l;
            }
        }
        // X = L^-1 column by column, then U = J X J.
        var x = new double[(long)k * k];
        for (int c = 0; c < k; c++)
        {
            x[(long)c * k + c] = 1 / a[(long)c * k + c];
            for (int i = c + 1; i < k; i++)
            {
                double v = 0;
                for (int p = c; p < i; p++) v += a[(long)i * k + p] * x[(long)p * k + c];
                x[(long)i * k + c] = -v / a[(long)i * k + i];
            }
        }
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) up[i * ld + j] = j < i ? 0f : (float)x[(long)(k - 1 - i) * k + (k - 1 - j)];
        I(info)[0] = 0;
    }

    public void SparseGptBlock(Tensor wt, Tensor u, Tensor mask, Tensor err, Tensor loss, int n, int m)
    {
        int count = wt.Shape[0], rows = wt.Shape[1];
        float* w = F(wt), up = F(u), e = F(err), lp = F(loss);
        byte* mk = Ptr(mask);
        Parallel.For(0, rows, Opts((long)rows * count * count / 2), r =>
        {
            var b = new float[count];
            for (int i = 0; i < count; i++) b[i] = w[(long)i * rows + r];
            float l = 0;
            for (int i = 0; i < count; i++)
            {
                if (m > 0 && i % m == 0) ChooseGroup(b, up, count, i, n, m, mk, rows, r);
                float d = up[(long)i * count + i];
                bool pruned = mk[(long)i * rows + r] == 0;
                float q = pruned ? 0f : b[i];
                float ei = (b[i] - q) / d;
                l += ei * ei / 2;
                if (ei != 0)
                    for (int j = i + 1; j < count; j++) b[j] -= ei * up[(long)i * count + j];
                b[i] = q;
                e[(long)i * rows + r] = ei;
            }
            for (int i = 0; i < count; i++) w[(long)i * rows + r] = b[i];
            lp[r] += l;
        });
    }

    /// <summary>Prunes the m - n lowest (b_j / u_jj)^2 of columns i..i+m of one row (ties to the lower index).</summary>
    private static void ChooseGroup(float[] b, float* u, int count, int i, int n, int m, byte* mask, int rows, int r)
    {
        Span<float> s = stackalloc float[m];
        Span<bool> gone = stackalloc bool[m];
        for (int j = 0; j < m; j++)
        {
            float v = b[i + j] / u[(long)(i + j) * count + i + j];
            s[j] = v * v;
        }
        for (int p = 0; p < m - n; p++)
        {
            int best = -1;
            for (int j = 0; j < m; j++)
                if (!gone[j] && (best < 0 || s[j] < s[best])) best = j;
            gone[best] = true;
        }
        for (int j = 0; j < m; j++) mask[(long)(i + j) * rows + r] = gone[j] ? (byte)0 : (byte)1;
    }
}
