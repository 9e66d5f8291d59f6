using System;
using System.Buffers.Binary;
using System.IO;
using System.IO.Compression;

namespace Microsoft.ML.Fff.Tools;

/// <summary>
/// Writes MNIST idx images as 8-bit grayscale PNG files laid out as <c>{output}/{train,test}/{digit}/{index}.png</c>, where
/// <c>index</c> is the image's position in its idx file (so sorting the files by number restores the idx order). The PNG
/// encoder is a minimal one (one IDAT chunk, filter type 0, zlib): the pixels round-trip exactly through any decoder.
/// Shared with the tests (linked into Microsoft.ML.Fff.Tests).
/// </summary>
internal static class MnistPng
{
    /// <summary>Writes one split; returns the number of files written. Existing files are overwritten.</summary>
    public static int WriteSplit(string idxDirectory, string outputDirectory, bool test, int? maxRows = null)
    {
        string prefix = test ? "t10k" : "train";
        (int[] imageShape, byte[] pixels) = ReadIdx(Path.Combine(idxDirectory, prefix + "-images-idx3-ubyte"));
        (int[] labelShape, byte[] labels) = ReadIdx(Path.Combine(idxDirectory, prefix + "-labels-idx1-ubyte"));
        if (imageShape.Length != 3 || labelShape.Length != 1 || imageShape[0] != labelShape[0])
            throw new InvalidDataException($"MNIST files in {idxDirectory} do not match: images {string.Join("x", imageShape)}, labels {string.Join("x", labelShape)}.");
        return WriteImages(pixels, labels, imageShape[1], imageShape[2], Path.Combine(outputDirectory, test ? "test" : "train"), maxRows);
    }

    /// <summary>Writes <c>labels.Length</c> (at most <paramref name="maxRows"/>) images of <paramref name="height"/> x <paramref name="width"/> pixels.</summary>
    public static int WriteImages(byte[] pixels, byte[] labels, int height, int width, string splitDirectory, int? maxRows = null)
    {
        int rows = Math.Min(labels.Length, maxRows ?? int.MaxValue);
        int size = height * width;
        for (int r = 0; r < rows; r++)
        {
            string folder = Path.Combine(splitDirectory, labels[r].ToString(System.Globalization.CultureInfo.InvariantCulture));
            Directory.CreateDirectory(folder);
            File.WriteAllBytes(Path.Combine(folder, r.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".png"),
                EncodeGray(pixels.AsSpan(r * size, size), width, height));
        }
        return rows;
    }

    /// <summary>Reads an unsigned-byte idx file (magic 0x00000800 | rank): its dimensions and values.</summary>
    private static (int[] Shape, byte[] Values) ReadIdx(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} is missing. Run scripts/fetch-mnist.sh first.", path);
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 4 || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08)
            throw new InvalidDataException($"{path} is not an unsigned-byte idx file.");
        int rank = bytes[3];
        var shape = new int[rank];
        long count = 1;
        for (int d = 0; d < rank; d++)
        {
            shape[d] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * d));
            count *= shape[d];
        }
        int offset = 4 + 4 * rank;
        if (bytes.Length - offset != count)
            throw new InvalidDataException($"{path} holds {bytes.Length - offset} values; its header says {count}.");
        return (shape, bytes[offset..]);
    }

    /// <summary>An 8-bit grayscale PNG of <paramref name="gray"/> (row-major, <paramref name="width"/> x <paramref name="height"/>).</summary>
    public static byte[] EncodeGray(ReadOnlySpan<byte> gray, int width, int height)
    {
        if (gray.Length != width * height)
            throw new ArgumentException($"Expected {width * height} pixels, got {gray.Length}.", nameof(gray));
        using var output = new MemoryStream();
        output.Write(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A });

        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8;  // bit depth
        header[9] = 0;  // colour type: grayscale
        header[10] = 0; // deflate
        header[11] = 0; // adaptive filtering (each row says its filter: 0, none)
        header[12] = 0; // no interlace
        WriteChunk(output, "IHDR", header);

        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            {
                for (int y = 0; y < height; y++)
                {
                    zlib.WriteByte(0);
                    zlib.Write(gray.Slice(y * width, width));
                }
            }
            WriteChunk(output, "IDAT", compressed.ToArray());
        }
        WriteChunk(output, "IEND", ReadOnlySpan<byte>.Empty);
        return output.ToArray();
    }

    private static void WriteChunk(Stream output, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> buffer = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(buffer, data.Length);
        output.Write(buffer);
        Span<byte> typeBytes = stackalloc byte[4];
        for (int i = 0; i < 4; i++)
            typeBytes[i] = (byte)type[i];
        output.Write(typeBytes);
        output.Write(data);
        uint crc = Crc32(Crc32(0xFFFFFFFFu, typeBytes), data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(buffer, crc);
        output.Write(buffer);
    }

    private static readonly uint[] CrcTable = BuildCrcTable();

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }

    private static uint Crc32(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }
}
