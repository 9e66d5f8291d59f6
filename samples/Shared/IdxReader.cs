using System;
using System.Buffers.Binary;
using System.IO;

namespace Microsoft.ML.Fff.Data;

/// <summary>
/// Reads the idx format of the MNIST files: a big-endian header (two zero bytes, a type byte, the dimension count, then
/// each dimension as a 32-bit size) followed by the values. Only unsigned bytes (type 0x08) occur in MNIST and are supported.
/// Every size is checked against the file length before anything is allocated.
/// </summary>
internal static class IdxReader
{
    /// <summary>Reads an idx file of unsigned bytes; returns its dimensions and the values.</summary>
    public static (int[] Dimensions, byte[] Values) ReadBytes(string path)
    {
        using FileStream stream = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        if (stream.Read(magic) != 4 || magic[0] != 0 || magic[1] != 0)
            throw new InvalidDataException($"{path} is not an idx file (bad magic number).");
        if (magic[2] != 0x08)
            throw new InvalidDataException($"{path} holds idx type 0x{magic[2]:X2}; only unsigned bytes (0x08) are supported.");
        int rank = magic[3];
        if (rank < 1 || rank > 4)
            throw new InvalidDataException($"{path} declares {rank} dimensions; expected 1 to 4.");
        var dimensions = new int[rank];
        Span<byte> size = stackalloc byte[4];
        long count = 1;
        for (int d = 0; d < rank; d++)
        {
            if (stream.Read(size) != 4)
                throw new InvalidDataException($"{path} ends inside its header.");
            dimensions[d] = BinaryPrimitives.ReadInt32BigEndian(size);
            if (dimensions[d] < 0)
                throw new InvalidDataException($"{path} declares a negative dimension.");
            count *= dimensions[d];
        }
        if (count != stream.Length - stream.Position)
            throw new InvalidDataException($"{path} declares {count} values but holds {stream.Length - stream.Position} bytes after its header (truncated or not an idx file).");
        var values = new byte[count];
        stream.ReadExactly(values);
        return (dimensions, values);
    }
}
