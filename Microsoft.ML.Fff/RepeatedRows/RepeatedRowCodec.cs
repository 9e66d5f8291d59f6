using System;
using System.IO;
using System.Linq;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Onnx;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.Scoring;
using static Microsoft.ML.Fff.Persistence.ModelFormat;
using static Microsoft.ML.Fff.Persistence.PayloadFormat;

[assembly: NetworkPlugin(typeof(Microsoft.ML.Fff.RepeatedRows.RepeatedRowKind))]

namespace Microsoft.ML.Fff.RepeatedRows;

internal sealed partial class RepeatedRowNetwork
{
    // *** Binary format of the repeated-row payload (after the network kind code 7, see Persistence/NetworkFormat.cs) ***
    // int32  input count I                (1 .. 2^28)
    // int32  output count O               (1 .. 2^20)
    // int32  stored row count R           (1 .. MaxRows; R x I at most MaxKeyFloats)
    // float array of R*I values: the stored rows, row-major; finite and pairwise distinct (slot by slot, 0 equal to -0)
    // float array of R*O values: each stored row's output offsets, finite
    // then the inner network: its int32 kind code (any registered kind except 7) and its payload, which fills the rest;
    // it takes I inputs and gives O outputs.
    // Version history: added in model format 0x00010006 (ModelFormat.RepeatedRowsVersion); a file of an older format holding
    // kind 7 is corrupt.

    protected internal override void SavePayload(BinaryWriter writer)
    {
        WriteFields(writer, InputCount, OutputCount, RowCount);
        WriteArray(writer, _keys);
        WriteArray(writer, _offsets);
        NetworkFormat.Save(Inner, writer);
    }

    /// <summary>Reads the payload; every size is checked against the bytes there before anything is allocated.</summary>
    internal static RepeatedRowNetwork LoadPayload(PayloadReader payload, uint formatVersion)
    {
        if (formatVersion < RepeatedRowsVersion)
            throw Corrupt($"network kind {(int)Kinds.NetworkKind.RepeatedRows} (offsets for repeated rows) in a file of format 0x{formatVersion:X8}, older than the format that added it (0x{RepeatedRowsVersion:X8}).");
        int[] fields = payload.ReadFields(3, "repeated-row shape fields");
        int inputs = fields[0], outputs = fields[1], rows = fields[2];
        string shape = $"inputs {inputs}, outputs {outputs}, stored rows {rows}";
        if (!InputsOutputsInRange(inputs, outputs) || rows < 1 || rows > MaxRows || (long)rows * inputs > MaxKeyFloats
            || (long)rows * outputs > int.MaxValue)
            throw Corrupt($"repeated-row shape ({shape}) is out of range.");
        long keyFloats = (long)rows * inputs, offsetFloats = (long)rows * outputs;
        payload.Require(2 * sizeof(int) + (keyFloats + offsetFloats) * sizeof(float) + sizeof(int), shape, last: false);
        var keys = new float[keyFloats];
        var offsets = new float[offsetFloats];
        payload.ReadArray(keys, "stored rows");
        payload.ReadArray(offsets, "row offsets");
        long used = 3 * sizeof(int) + 2 * sizeof(int) + (keyFloats + offsetFloats) * sizeof(float);
        FeedForwardNetwork inner = NetworkFormat.ReadInner(payload, used, formatVersion, (int)Kinds.NetworkKind.RepeatedRows,
            "the repeated-row offsets", "a table of repeated rows holds another.");
        if (inner.InputCount != inputs || inner.OutputCount != outputs)
            throw Corrupt($"the repeated-row offsets are for {inputs} inputs and {outputs} outputs but the network behind them has {inner.InputCount} and {inner.OutputCount}.");
        try
        {
            return new RepeatedRowNetwork(inner, keys, offsets);
        }
        catch (ArgumentException e)
        {
            // A non-finite or repeated stored row.
            throw Corrupt("the repeated-row table is invalid: " + e.Message, e);
        }
    }
}

/// <summary>Offsets for repeated rows in front of a network of any other kind (kind 7): the inner network's family, shape and soft function.</summary>
internal sealed class RepeatedRowKind() : NetworkKindDescriptor(NetworkKind.RepeatedRows, typeof(RepeatedRowNetwork), FffArchitecture.FastFeedForward)
{
    public override FeedForwardNetwork ReadPayload(PayloadReader payload, uint formatVersion) => RepeatedRowNetwork.LoadPayload(payload, formatVersion);

    public override FffArchitecture FamilyOf(FeedForwardNetwork network) => InnerKind(network, out FeedForwardNetwork inner).FamilyOf(inner);

    public override int Depth(FeedForwardNetwork network) => InnerKind(network, out FeedForwardNetwork inner).Depth(inner);

    public override int LeafWidth(FeedForwardNetwork network) => InnerKind(network, out FeedForwardNetwork inner).LeafWidth(inner);

    public override string WriteOnnx(OnnxGraph graph, FeedForwardNetwork network, string features)
    {
        var table = (RepeatedRowNetwork)network;
        string inner = InnerKind(network, out FeedForwardNetwork innerNetwork).WriteOnnx(graph, innerNetwork, features);
        return RepeatedRowOnnx.AddOffsets(graph, table, features, inner);
    }

    /// <summary>The inner network's soft function plus the offsets of a repeated row; null when the inner kind has none.</summary>
    public override ISoftScorer? CreateSoftScorer(FeedForwardNetwork network)
    {
        var table = (RepeatedRowNetwork)network;
        ISoftScorer? inner = InnerKind(network, out FeedForwardNetwork innerNetwork).CreateSoftScorer(innerNetwork);
        return inner is null ? null : new SoftScorer(table, inner);
    }

    private static NetworkKindDescriptor InnerKind(FeedForwardNetwork network, out FeedForwardNetwork inner)
    {
        inner = ((RepeatedRowNetwork)network).Inner;
        return NetworkKinds.Of(inner);
    }

    private sealed class SoftScorer(RepeatedRowNetwork table, ISoftScorer inner) : ISoftScorer
    {
        public void ScoreSoft(ReadOnlySpan<float> features, Span<float> output)
        {
            inner.ScoreSoft(features, output);
            int row = table.Find(features);
            if (row >= 0)
                table.AddOffsets(row, output);
        }
    }
}

/// <summary>The ONNX form of the offsets (docs/onnx.md): standard operators only.</summary>
internal static class RepeatedRowOnnx
{
    /// <summary>
    /// Adds to <paramref name="innerOutput"/> (<c>[N, O]</c>) the offsets of the stored row each row of <paramref name="features"/>
    /// equals: per feature, the row's value compared with every stored row's (<c>Equal</c>, <c>[N, R]</c>), the comparisons
    /// combined with <c>And</c>, the match cast to float and multiplied by the offsets (<c>[R, O]</c>). Stored rows are distinct,
    /// so at most one matches; ONNX's float <c>Equal</c> is the C# scorer's comparison (0 equals -0, NaN equals nothing). A row
    /// costs <c>R x I</c> comparisons here, against a hash lookup in C#.
    /// </summary>
    public static string AddOffsets(OnnxGraph graph, RepeatedRowNetwork table, string features, string innerOutput)
    {
        int inputs = table.InputCount, rows = table.RowCount;
        ReadOnlySpan<float> keys = table.Keys;
        string? match = null;
        var column = new float[rows];
        for (int j = 0; j < inputs; j++)
        {
            for (int r = 0; r < rows; r++)
                column[r] = keys[r * inputs + j];
            string value = graph.Node("Gather", new[] { features, graph.Longs("RepeatedRowSlot", new[] { (long)j }, 1) },
                attributes: n => n.AddAttribute("axis", 1L));
            string equal = graph.Node("Equal", new[] { value, graph.Floats("RepeatedRowKeys", column.ToArray(), 1, rows) });
            match = match is null ? equal : graph.Node("And", new[] { match, equal });
        }
        string offsets = graph.Floats("RepeatedRowOffsets", table.Offsets.ToArray(), rows, table.OutputCount);
        return graph.Add(innerOutput, graph.MatMul(graph.Cast(match!, typeof(float)), offsets));
    }
}
