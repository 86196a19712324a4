using System.Buffers.Binary;
using System.IO.Compression;

namespace ModelBridge.Parity.Tests;

/// <summary>
/// Just enough of a PNG decoder to read a Chromium screenshot: 8-bit RGB or RGBA, not interlaced,
/// all five scanline filters (PNG spec, section 9).
/// </summary>
internal sealed class PngImage
{
    private PngImage(int width, int height, int channels, byte[] pixels) => (Width, Height, Channels, Pixels) = (width, height, channels, pixels);

    public int Width { get; }

    public int Height { get; }

    public int Channels { get; }

    public byte[] Pixels { get; }

    public static PngImage Decode(byte[] png)
    {
        int width = 0, height = 0, channels = 0;
        using var idat = new MemoryStream();
        for (int at = 8; at < png.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            string type = System.Text.Encoding.ASCII.GetString(png, at + 4, 4);
            ReadOnlySpan<byte> data = png.AsSpan(at + 8, length);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                Assert.That((data[8], data[12]), Is.EqualTo(((byte)8, (byte)0)), "8-bit, not interlaced");
                channels = data[9] switch { 2 => 3, 6 => 4, _ => throw new NotSupportedException($"PNG colour type {data[9]}") };
            }
            else if (type == "IDAT")
            {
                idat.Write(data);
            }
            at += 12 + length;
        }
        idat.Position = 0;
        using var inflated = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionMode.Decompress))
        {
            z.CopyTo(inflated);
        }
        byte[] raw = inflated.ToArray();
        int stride = width * channels;
        var pixels = new byte[stride * height];
        for (int y = 0; y < height; y++)
        {
            byte filter = raw[y * (stride + 1)];
            ReadOnlySpan<byte> line = raw.AsSpan((y * (stride + 1)) + 1, stride);
            Span<byte> row = pixels.AsSpan(y * stride, stride);
            ReadOnlySpan<byte> up = y == 0 ? new byte[stride] : pixels.AsSpan((y - 1) * stride, stride);
            for (int x = 0; x < stride; x++)
            {
                int a = x >= channels ? row[x - channels] : 0, b = up[x], c = x >= channels ? up[x - channels] : 0;
                int predicted = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new NotSupportedException($"PNG filter {filter}"),
                };
                row[x] = (byte)(line[x] + predicted);
            }
        }
        return new PngImage(width, height, channels, pixels);
    }

    /// <summary>The leftmost and rightmost columns holding a pixel within <paramref name="tolerance"/> of the colour.</summary>
    public (int Left, int Right) ColumnsMatching(byte r, byte g, byte b, int tolerance)
    {
        int left = int.MaxValue, right = -1;
        for (int y = 0; y < Height; y++)
        {
            for (int x = 0; x < Width; x++)
            {
                int i = ((y * Width) + x) * Channels;
                if (Math.Abs(Pixels[i] - r) + Math.Abs(Pixels[i + 1] - g) + Math.Abs(Pixels[i + 2] - b) <= tolerance)
                {
                    left = Math.Min(left, x);
                    right = Math.Max(right, x);
                }
            }
        }
        return (left, right);
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
