// Loss curves as a PNG: training loss (blue line) and optional evaluation loss (orange line with dots) against
// the step, with a grid, tick labels, axis labels, a title and a legend, in the built-in bitmap font.
using System.Globalization;

namespace Lors.Train.Plotting;

public static class LossPlot
{
    private const int W = 900, H = 540, Left = 90, Right = 30, Top = 56, Bottom = 70;

    public static void WritePng(string path, IReadOnlyList<(int step, double loss)> train, IReadOnlyList<(int step, double loss)>? eval, string title)
    {
        var c = Render(train, eval, title);
        Png.WriteRgb(path, c.Width, c.Height, c.Pixels);
    }

    public static Canvas Render(IReadOnlyList<(int step, double loss)> train, IReadOnlyList<(int step, double loss)>? eval, string title)
    {
        var tr = train.Where(p => double.IsFinite(p.loss)).ToList();
        var ev = (eval ?? []).Where(p => double.IsFinite(p.loss)).ToList();
        var all = tr.Concat(ev).ToList();
        var canvas = new Canvas(W, H, Rgb.White);
        int pw = W - Left - Right, ph = H - Top - Bottom;

        double x0 = all.Count > 0 ? all.Min(p => p.step) : 0, x1 = all.Count > 0 ? all.Max(p => p.step) : 1;
        double y0 = all.Count > 0 ? all.Min(p => p.loss) : 0, y1 = all.Count > 0 ? all.Max(p => p.loss) : 1;
        if (x1 <= x0) { x0 -= 1; x1 += 1; }
        if (y1 <= y0) { double d = Math.Max(0.5, Math.Abs(y0) * 0.1); y0 -= d; y1 += d; }
        double pad = (y1 - y0) * 0.05;
        y0 -= pad;
        y1 += pad;
        double X(double s) => Left + (s - x0) / (x1 - x0) * pw;
        double Y(double l) => Top + ph - (l - y0) / (y1 - y0) * ph;

        // grid and tick labels
        foreach (var t in Ticks(x0, x1, 8, out int xd, minStep: 1))   // steps are whole numbers
        {
            int px = (int)Math.Round(X(t));
            canvas.Line(px, Top, px, Top + ph, Rgb.Grid);
            canvas.Line(px, Top + ph, px, Top + ph + 5, Rgb.Black);
            var s = t.ToString("F" + xd, CultureInfo.InvariantCulture);
            canvas.Text(px - BitmapFont.Measure(s, 2) / 2, Top + ph + 10, s, Rgb.Black, 2);
        }
        foreach (var t in Ticks(y0, y1, 6, out int yd))
        {
            int py = (int)Math.Round(Y(t));
            canvas.Line(Left, py, Left + pw, py, Rgb.Grid);
            canvas.Line(Left - 5, py, Left, py, Rgb.Black);
            var s = t.ToString("F" + yd, CultureInfo.InvariantCulture);
            canvas.Text(Left - 10 - BitmapFont.Measure(s, 2), py - 7, s, Rgb.Black, 2);
        }
        // frame
        canvas.Line(Left, Top, Left, Top + ph, Rgb.Black, 2);
        canvas.Line(Left, Top + ph, Left + pw, Top + ph, Rgb.Black, 2);
        canvas.Line(Left, Top, Left + pw, Top, Rgb.Gray);
        canvas.Line(Left + pw, Top, Left + pw, Top + ph, Rgb.Gray);

        // series
        for (int i = 1; i < tr.Count; i++) canvas.Line(X(tr[i - 1].step), Y(tr[i - 1].loss), X(tr[i].step), Y(tr[i].loss), Rgb.Blue, 2);
        if (tr.Count == 1) canvas.Dot(X(tr[0].step), Y(tr[0].loss), 3, Rgb.Blue);
        for (int i = 1; i < ev.Count; i++) canvas.Line(X(ev[i - 1].step), Y(ev[i - 1].loss), X(ev[i].step), Y(ev[i].loss), Rgb.Orange, 2);
        foreach (var p in ev) canvas.Dot(X(p.step), Y(p.loss), 4, Rgb.Orange);

        // labels, title, legend
        canvas.Text(Left + pw / 2 - BitmapFont.Measure("STEP", 2) / 2, H - 26, "STEP", Rgb.Black, 2);
        canvas.TextUp(14, Top + ph / 2 + BitmapFont.Measure("LOSS", 2) / 2, "LOSS", Rgb.Black, 2);
        canvas.Text(W / 2 - BitmapFont.Measure(title, 3) / 2, 14, title, Rgb.Black, 3);
        int ly = Top + 10, lx = Left + pw - 150;
        canvas.FillRect(lx, ly + 5, 24, 4, Rgb.Blue);
        canvas.Text(lx + 32, ly, "TRAIN", Rgb.Black, 2);
        if (ev.Count > 0)
        {
            canvas.FillRect(lx, ly + 29, 24, 4, Rgb.Orange);
            canvas.Dot(lx + 12, ly + 31, 4, Rgb.Orange);
            canvas.Text(lx + 32, ly + 24, "EVAL", Rgb.Black, 2);
        }
        return canvas;
    }

    /// <summary>Round tick values (1, 2 or 5 times a power of ten apart) inside [lo, hi], at most about <paramref name="target"/>.</summary>
    public static List<double> Ticks(double lo, double hi, int target, out int decimals, double minStep = 0)
    {
        double raw = (hi - lo) / Math.Max(1, target);
        double mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = Math.Max(minStep, new[] { 1.0, 2.0, 5.0, 10.0 }.Select(m => m * mag).First(s => s >= raw));
        decimals = Math.Max(0, -(int)Math.Floor(Math.Log10(step) + 1e-9));
        var ticks = new List<double>();
        for (double t = Math.Ceiling(lo / step) * step; t <= hi + step * 1e-9; t += step)
        {
            double r = Math.Round(t, decimals);
            ticks.Add(r == 0 ? 0.0 : r);    // no "-0.0" label
        }
        return ticks;
    }
}
