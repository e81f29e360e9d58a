// The PNG writer (structure, CRCs, pixels round trip through zlib) and the loss plot.
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Lors.Train.Plotting;
using static Lors.Tests.Training.TrainTestUtil;

namespace Lors.Tests.Training;

public class PlotTests
{
    /// <summary>The test's own bit-at-a-time CRC-32 (reflected 0xEDB88320), independent of the writer's library CRC.</summary>
    private static uint ReferenceCrc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
        }
        return crc ^ 0xFFFFFFFFu;
    }

    [Fact]
    public void ReferenceCrc32MatchesTheKnownCheckValue() =>
        Assert.Equal(0xCBF43926u, ReferenceCrc32(Encoding.ASCII.GetBytes("123456789")));

    [Fact]
    public void PngChunksAreWellFormedAndPixelsRoundTrip()
    {
        int w = 7, h = 5;
        var rgb = new byte[w * h * 3];
        for (int i = 0; i < rgb.Length; i++) rgb[i] = (byte)(i * 37);
        var png = Png.EncodeRgb(w, h, rgb);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        var chunks = new List<(string Type, byte[] Data)>();
        for (int pos = 8; pos < png.Length;)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            var type = Encoding.ASCII.GetString(png, pos + 4, 4);
            var data = png.AsSpan(pos + 8, len).ToArray();
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + len));
            Assert.Equal(crc, ReferenceCrc32(png.AsSpan(pos + 4, 4 + len)));
            chunks.Add((type, data));
            pos += 12 + len;
        }
        Assert.Equal(["IHDR", "IDAT", "IEND"], chunks.Select(c => c.Type));
        Assert.Equal(w, BinaryPrimitives.ReadInt32BigEndian(chunks[0].Data));
        Assert.Equal(h, BinaryPrimitives.ReadInt32BigEndian(chunks[0].Data.AsSpan(4)));
        using var z = new ZLibStream(new MemoryStream(chunks[1].Data), CompressionMode.Decompress);
        var raw = new MemoryStream();
        z.CopyTo(raw);
        var bytes = raw.ToArray();
        Assert.Equal(h * (1 + w * 3), bytes.Length);
        for (int y = 0; y < h; y++)
        {
            Assert.Equal(0, bytes[y * (1 + w * 3)]);
            Assert.Equal(rgb.AsSpan(y * w * 3, w * 3).ToArray(), bytes.AsSpan(y * (1 + w * 3) + 1, w * 3).ToArray());
        }
    }

    [Fact]
    public void LossPlotDrawsBothSeriesAndWritesAtomically()
    {
        var train = Enumerable.Range(1, 200).Select(i => (i, 4.0 * Math.Exp(-i / 50.0) + 1.5 + 0.05 * Math.Sin(i))).ToList();
        var eval = Enumerable.Range(1, 8).Select(i => (i * 25, 4.0 * Math.Exp(-i * 25 / 50.0) + 1.7)).ToList();
        var c = LossPlot.Render(train, eval, "tiny-llama lors r16");
        int blue = 0, orange = 0;
        for (int y = 0; y < c.Height; y++)
            for (int x = 0; x < c.Width; x++)
            {
                if (c[x, y] == Rgb.Blue) blue++;
                if (c[x, y] == Rgb.Orange) orange++;
            }
        Assert.True(blue > 500 && orange > 200, $"blue {blue}, orange {orange}");
        var dir = TempDir("plot");
        var path = Path.Combine(dir, "loss.png");
        LossPlot.WritePng(path, train, eval, "tiny-llama lors r16");
        Assert.True(new FileInfo(path).Length > 1000);
        Assert.Equal([path], Directory.GetFiles(dir));
        // degenerate inputs do not throw
        LossPlot.WritePng(path, [(1, 2.0)], null, "one point");
        LossPlot.WritePng(path, [(1, double.NaN), (2, 2.0), (3, 2.0)], [], "flat");
    }

    [Fact]
    public void TicksAreRoundNumbers()
    {
        Assert.Equal([0, 20, 40, 60, 80, 100], LossPlot.Ticks(0, 100, 6, out int d0));
        Assert.Equal(0, d0);
        var t = LossPlot.Ticks(1.43, 2.61, 6, out int d1);
        Assert.Equal(1, d1);
        Assert.Equal([1.6, 1.8, 2.0, 2.2, 2.4, 2.6], t);
        Assert.Equal([1, 2, 3, 4], LossPlot.Ticks(0.8, 4.2, 8, out int d2, minStep: 1));
        Assert.Equal(0, d2);
        Assert.True(BitmapFont.Has('e') && BitmapFont.Has('.') && BitmapFont.Has('-') && BitmapFont.Has('7'));
    }
}
