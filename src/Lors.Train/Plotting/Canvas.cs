// An RGB pixel buffer with the few drawing primitives the plots need: rectangles, thick lines, dots and text.
namespace Lors.Train.Plotting;

public readonly record struct Rgb(byte R, byte G, byte B)
{
    public static readonly Rgb White = new(255, 255, 255), Black = new(0, 0, 0), Grid = new(225, 225, 225),
        Blue = new(31, 119, 180), Orange = new(230, 110, 20), Gray = new(90, 90, 90);
}

public sealed class Canvas
{
    private readonly byte[] _rgb;

    public Canvas(int width, int height, Rgb background)
    {
        Width = width;
        Height = height;
        _rgb = new byte[width * height * 3];
        FillRect(0, 0, width, height, background);
    }

    public int Width { get; }
    public int Height { get; }
    public ReadOnlySpan<byte> Pixels => _rgb;

    public Rgb this[int x, int y] => new(_rgb[(y * Width + x) * 3], _rgb[(y * Width + x) * 3 + 1], _rgb[(y * Width + x) * 3 + 2]);

    public void Set(int x, int y, Rgb c)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height) return;
        int i = (y * Width + x) * 3;
        (_rgb[i], _rgb[i + 1], _rgb[i + 2]) = (c.R, c.G, c.B);
    }

    public void FillRect(int x, int y, int w, int h, Rgb c)
    {
        for (int yy = y; yy < y + h; yy++)
            for (int xx = x; xx < x + w; xx++) Set(xx, yy, c);
    }

    /// <summary>A line of the given thickness (square pen) by stepping along the longer axis.</summary>
    public void Line(double x0, double y0, double x1, double y1, Rgb c, int thickness = 1)
    {
        int steps = (int)Math.Ceiling(Math.Max(Math.Abs(x1 - x0), Math.Abs(y1 - y0)));
        int lo = -(thickness - 1) / 2, hi = thickness / 2;
        for (int i = 0; i <= steps; i++)
        {
            double t = steps == 0 ? 0 : i / (double)steps;
            int x = (int)Math.Round(x0 + (x1 - x0) * t), y = (int)Math.Round(y0 + (y1 - y0) * t);
            for (int dy = lo; dy <= hi; dy++)
                for (int dx = lo; dx <= hi; dx++) Set(x + dx, y + dy, c);
        }
    }

    public void Dot(double x, double y, int radius, Rgb c)
    {
        int cx = (int)Math.Round(x), cy = (int)Math.Round(y);
        for (int dy = -radius; dy <= radius; dy++)
            for (int dx = -radius; dx <= radius; dx++)
                if (dx * dx + dy * dy <= radius * radius) Set(cx + dx, cy + dy, c);
    }

    /// <summary>Text with its top-left corner at (x, y), each font pixel a scale x scale square.</summary>
    public void Text(int x, int y, string text, Rgb c, int scale = 1)
    {
        for (int k = 0; k < text.Length; k++)
        {
            var g = BitmapFont.Glyph(text[k]);
            int gx = x + k * BitmapFont.Advance * scale;
            for (int row = 0; row < BitmapFont.GlyphHeight; row++)
                for (int col = 0; col < BitmapFont.GlyphWidth; col++)
                    if (g[row][col] == '#') FillRect(gx + col * scale, y + row * scale, scale, scale, c);
        }
    }

    /// <summary>Text rotated a quarter turn counter-clockwise (reads bottom to top), its glyphs' top edge at column x.</summary>
    public void TextUp(int x, int yBottom, string text, Rgb c, int scale = 1)
    {
        for (int k = 0; k < text.Length; k++)
        {
            var g = BitmapFont.Glyph(text[k]);
            int gy = yBottom - k * BitmapFont.Advance * scale;
            for (int row = 0; row < BitmapFont.GlyphHeight; row++)
                for (int col = 0; col < BitmapFont.GlyphWidth; col++)
                    if (g[row][col] == '#') FillRect(x + row * scale, gy - (col + 1) * scale, scale, scale, c);
        }
    }
}
