using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using static Microsoft.ML.Fff.Persistence.ModelFormat;

namespace Microsoft.ML.Fff.Persistence;

/// <summary>
/// Reads a payload while tracking how many bytes the container says it has, so a declared shape can be checked against
/// the bytes actually there before anything is allocated.
/// </summary>
internal sealed class PayloadReader
{
    private readonly long _start;

    public PayloadReader(BinaryReader reader, long? byteCount)
    {
        Reader = reader;
        ByteCount = byteCount;
        _start = reader.BaseStream.CanSeek ? reader.BaseStream.Position : 0;
    }

    public BinaryReader Reader { get; }

    /// <summary>Bytes the payload occupies, when known.</summary>
    public long? ByteCount { get; }

    /// <summary>Bytes read so far (seekable streams only; 0 otherwise).</summary>
    public long Consumed => Reader.BaseStream.CanSeek ? Reader.BaseStream.Position - _start : 0;

    public int ReadInt32() => PayloadFormat.ReadInt32(Reader);

    /// <summary>
    /// Reads the <paramref name="count"/> int32 shape fields that open a payload, after checking that a payload of known
    /// size holds them; <paramref name="what"/> names them in the error (e.g. "dense shape fields").
    /// </summary>
    public int[] ReadFields(int count, string what)
    {
        if (ByteCount < count * sizeof(int))
            throw Corrupt($"the model block holds {ByteCount} bytes, fewer than the {count * sizeof(int)} bytes of the {what}.");
        var fields = new int[count];
        for (int i = 0; i < count; i++)
            fields[i] = ReadInt32();
        return fields;
    }

    /// <summary>Reads an array written by <see cref="PayloadFormat.WriteArray"/> into a destination of the expected length.</summary>
    public void ReadArray(float[] destination, string what) => PayloadFormat.ReadArray(Reader, destination, what);

    /// <summary>Reads consecutive arrays into <paramref name="destinations"/>, each named in errors by the name at its position.</summary>
    public void ReadArrays(IEnumerable<float[]> destinations, params string[] names)
    {
        int i = 0;
        foreach (float[] destination in destinations)
            ReadArray(destination, names[i++]);
    }

    /// <summary>
    /// Checks that <paramref name="needed"/> more bytes (the declared shape's arrays) fit: exactly, when the payload size
    /// is known and <paramref name="last"/> says nothing follows; at least, otherwise.
    /// </summary>
    public void Require(long needed, string shape, bool last)
    {
        long consumed = Consumed;
        if (ByteCount is long available)
        {
            long left = available - consumed;
            if (last ? left != needed : left < needed)
            {
                throw Corrupt($"the declared shape ({shape}) needs {consumed + needed} bytes but the model block holds {available} (truncated or padded?).");
            }
        }
        Stream stream = Reader.BaseStream;
        if (stream.CanSeek && stream.Length - stream.Position < needed)
            throw Corrupt("the file is shorter than its declared shape needs (truncated?).");
    }

    /// <summary>Fails when bytes are left over in a payload of known size.</summary>
    public void CheckAtEnd()
    {
        if (ByteCount is long available && Reader.BaseStream.CanSeek && Consumed != available)
            throw Corrupt($"the model block holds {available} bytes but the network uses {Consumed} (padded?).");
    }
}

/// <summary>The primitives every payload is written in: little-endian int32 fields and length-prefixed float32 arrays.</summary>
internal static class PayloadFormat
{
    /// <summary>Reads an int32; the end of the stream is a truncated file.</summary>
    public static int ReadInt32(BinaryReader reader)
    {
        try
        {
            return reader.ReadInt32();
        }
        catch (EndOfStreamException e)
        {
            throw Corrupt("the file ends early (truncated?).", e);
        }
    }

    /// <summary>Inclusive limits of the input and output counts every payload starts with.</summary>
    public const int MaxInputCount = 1 << 28, MaxOutputCount = 1 << 20;

    /// <summary>Whether the input and output counts a payload starts with are in range.</summary>
    public static bool InputsOutputsInRange(int inputCount, int outputCount)
        => inputCount >= 1 && inputCount <= MaxInputCount && outputCount >= 1 && outputCount <= MaxOutputCount;

    /// <summary>Fails on a stored code (activation, gating, ...) this reader does not know.</summary>
    public static void CheckKnownCode(bool known, string what, int code)
    {
        if (!known)
            throw Corrupt($"unknown {what} code {code}.");
    }

    /// <summary>The error of a declared shape whose weights do not fit one array.</summary>
    public static Exception TooManyWeights() => Corrupt("the declared shape needs more weights than one array can hold.");

    /// <summary>Writes the int32 shape fields that open a payload.</summary>
    public static void WriteFields(BinaryWriter writer, params int[] fields)
    {
        foreach (int field in fields)
            writer.Write(field);
    }

    /// <summary>Writes consecutive arrays, each as <see cref="WriteArray"/> does.</summary>
    public static void WriteArrays(BinaryWriter writer, IEnumerable<float[]> arrays)
    {
        foreach (float[] array in arrays)
            WriteArray(writer, array);
    }

    /// <summary>Writes an array as its int32 count followed by the values.</summary>
    public static void WriteArray(BinaryWriter writer, float[] values)
    {
        writer.Write(values.Length);
        writer.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    }

    /// <summary>Reads an array written by <see cref="WriteArray"/> into a destination of the expected length.</summary>
    public static void ReadArray(BinaryReader reader, float[] destination, string what)
    {
        int count = ReadInt32(reader);
        if (count != destination.Length)
            throw Corrupt($"{what} hold {count} values where the shape needs {destination.Length}.");
        Span<byte> bytes = MemoryMarshal.AsBytes(destination.AsSpan());
        int read = 0;
        while (read < bytes.Length)
        {
            int n = reader.Read(bytes.Slice(read));
            if (n <= 0)
                throw Corrupt($"the file ends inside the {what} (truncated?).");
            read += n;
        }
    }
}
