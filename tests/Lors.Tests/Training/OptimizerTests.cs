// LR schedule values, one AdamW step against a hand computation, and global-norm clipping.
using Lors.Autograd;
using Lors.Tensors;
using Lors.Train.Training;

namespace Lors.Tests.Training;

public class OptimizerTests
{
    [Fact]
    public void ScheduleWarmsUpLinearlyThenCosineToTheFloor()
    {
        var s = new LrSchedule(1.0, WarmupSteps: 4, TotalSteps: 14, MinLrRatio: 0.1);
        Assert.Equal(0.25, s.At(0), 12);
        Assert.Equal(0.5, s.At(1), 12);
        Assert.Equal(1.0, s.At(3), 12);
        Assert.Equal(1.0, s.At(4), 12);                     // peak at the end of warmup
        Assert.Equal(0.1 + 0.9 * 0.5 * (1 + Math.Cos(Math.PI * 4.0 / 9)), s.At(8), 12);
        Assert.Equal(0.1, s.At(13), 12);                    // floor at the last step
        Assert.Equal(0.1, s.At(100), 12);
        for (int i = 4; i < 13; i++) Assert.True(s.At(i + 1) <= s.At(i));
        var noWarm = new LrSchedule(2.0, 0, 3, 0);
        Assert.Equal(2.0, noWarm.At(0), 12);
        Assert.Equal(1.0, noWarm.At(1), 12);
        Assert.Equal(0.0, noWarm.At(2), 12);
        Assert.Equal(3.0, new LrSchedule(3.0, 0, 1, 0.5).At(0), 12);
    }

    [Fact]
    public void AdamWStepMatchesHandComputation()
    {
        float[] p0 = [0.5f, -1.0f, 2.0f], g = [0.1f, -0.2f, 0.3f];
        double lr = 0.01, b1 = 0.9, b2 = 0.99, eps = 1e-8, wd = 0.1;
        var param = new Variable(Tensor.FromArray(p0, [3]), requiresGrad: true);
        using var opt = new AdamW([("p", param)], b1, b2, eps, wd);
        var expected = p0.Select(x => (double)x).ToArray();
        double[] m = new double[3], v = new double[3];
        for (int step = 1; step <= 2; step++)
        {
            param.Grad = Tensor.FromArray(g, [3]);
            opt.Step(lr);
            opt.ZeroGrad();
            for (int i = 0; i < 3; i++)
            {
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                double mh = m[i] / (1 - Math.Pow(b1, step)), vh = v[i] / (1 - Math.Pow(b2, step));
                expected[i] -= lr * (wd * expected[i] + mh / (Math.Sqrt(vh) + eps));
            }
        }
        var got = param.Data.ToFloatArray();
        for (int i = 0; i < 3; i++) Assert.Equal(expected[i], got[i], 5);
        // first step of Adam moves each coordinate by ~lr against the gradient sign (plus decay)
        Assert.Equal(2, opt.StepCount);
        param.Data.Dispose();
    }

    [Fact]
    public void AdamWSkipsParametersWithoutGradientAndRejectsNonF32()
    {
        var a = new Variable(Tensor.FromArray([1f, 2f], [2]), requiresGrad: true);
        using var opt = new AdamW([("a", a)]);
        opt.Step(0.1);
        Assert.Equal([1f, 2f], a.Data.ToFloatArray());
        var bf = new Variable(Tensor.FromArray([1f], [1], dtype: DType.BF16), requiresGrad: true);
        Assert.Throws<ArgumentException>(() => new AdamW([("bf", bf)]));
        Assert.Throws<ArgumentException>(() => new AdamW([("x", a), ("x", a)]));
    }

    [Fact]
    public void ClippingScalesToMaxNormAndReturnsPreClipNorm()
    {
        var a = new Variable(Tensor.Zeros([2]), requiresGrad: true) { Grad = Tensor.FromArray([3f, 0f], [2]) };
        var b = new Variable(Tensor.Zeros([1]), requiresGrad: true) { Grad = Tensor.FromArray([4f], [1]) };
        var c = new Variable(Tensor.Zeros([1]), requiresGrad: true);   // no gradient: counts as zero
        double norm = GradClip.ClipByGlobalNorm([a, b, c], 1.0);
        Assert.Equal(5.0, norm, 6);
        Assert.Equal(1.0, GradClip.GlobalNorm([a, b, c]), 5);
        Assert.Equal(0.6f, a.Grad!.ToFloatArray()[0], 5);
        Assert.Equal(0.8f, b.Grad!.ToFloatArray()[0], 5);
        // under the limit, or disabled: unchanged
        Assert.Equal(1.0, GradClip.ClipByGlobalNorm([a, b], 10), 5);
        Assert.Equal(1.0, GradClip.ClipByGlobalNorm([a, b], 0), 5);
        Assert.Equal(0.6f, a.Grad!.ToFloatArray()[0], 5);
        // non-finite: reported, not scaled
        b.Grad!.Dispose();
        b.Grad = Tensor.FromArray([float.NaN], [1]);
        Assert.True(double.IsNaN(GradClip.ClipByGlobalNorm([a, b], 1.0)));
        Assert.Equal(0.6f, a.Grad!.ToFloatArray()[0], 5);
    }
}
