using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;
using Microsoft.ML.Fff.Scoring;

namespace Microsoft.ML.Fff.RepeatedRows;

/// <summary>
/// A network of any other kind plus one output offset per feature row seen in training
/// (<see cref="FeedForwardOptionsBase.RepeatedRowOffsets"/>): a row whose features equal a stored row's exactly gets the
/// network's outputs plus that row's offsets; every other row gets the network's outputs unchanged. On panel data (the same
/// people measured in several years) most rows to score repeat a training row, and the offsets carry what the network's
/// smooth function could not give each of them. No torch type appears here.
/// </summary>
/// <remarks>
/// Two rows are equal when every slot compares equal as a float (<c>a == b</c>: 0 and -0 are equal, NaN equals nothing); the
/// stored rows are finite and distinct. The lookup hashes every slot of the row (a sparse row's missing slots as zeros, so dense
/// and sparse forms of one row find the same stored row) and costs about a pass over the row: it allocates nothing.
/// </remarks>
internal sealed partial class RepeatedRowNetwork : FeedForwardNetwork
{
    /// <summary>Most rows a table may hold (stored files and training alike).</summary>
    public const int MaxRows = 1 << 22;

    /// <summary>Most floats the stored rows may hold (<c>rows x inputs</c>): 64 MB.</summary>
    public const long MaxKeyFloats = 1L << 24;

    private readonly float[] _keys;
    private readonly float[] _offsets;
    // Open addressing with linear probing: each slot holds the stored row's hash tag (the hash's high 32 bits) above its index + 1,
    // so a probe that meets another row is mostly rejected by the tag without reading that row; 0 is an empty slot.
    private readonly ulong[] _slots;
    private readonly int _slotMask;

    /// <param name="inner">The network whose outputs the offsets correct; not another table.</param>
    /// <param name="keys">The stored rows, row-major (<c>rows x inner.InputCount</c>), finite and distinct.</param>
    /// <param name="offsets">Each stored row's offsets, row-major (<c>rows x inner.OutputCount</c>), finite.</param>
    public RepeatedRowNetwork(FeedForwardNetwork inner, float[] keys, float[] offsets)
        : base(inner.InputCount, inner.OutputCount)
    {
        if (inner is RepeatedRowNetwork)
            throw new ArgumentException("A table of repeated rows cannot wrap another.", nameof(inner));
        if (keys.Length % inner.InputCount != 0)
            throw new ArgumentException($"The stored rows hold {keys.Length} values, not a whole number of rows of {inner.InputCount}.", nameof(keys));
        int rows = keys.Length / inner.InputCount;
        if (rows < 1 || rows > MaxRows)
            throw new ArgumentOutOfRangeException(nameof(keys), rows, $"A table holds between 1 and {MaxRows} rows.");
        if ((long)rows * inner.OutputCount != offsets.Length)
            throw new ArgumentException($"The offsets hold {offsets.Length} values; {rows} rows of {inner.OutputCount} outputs need {(long)rows * inner.OutputCount}.", nameof(offsets));
        Inner = inner;
        _keys = keys;
        _offsets = offsets;
        // Two to four slots per row: a miss probes about 1.5 slots (the tags spare it the rows), and the slots stay small enough to
        // stay in cache (four per row cost a 25,000-row table about 40 ns more per miss in RepeatedRowBenchmarks: 1 MB of slots).
        int size = 1 << (int)Math.Ceiling(Math.Log2(Math.Max(2, 2L * rows)));
        _slots = new ulong[size];
        _slotMask = size - 1;
        for (int row = 0; row < rows; row++)
        {
            ReadOnlySpan<float> key = Key(row);
            if (!TensorPrimitives.IsFiniteAll(key))
                throw new ArgumentException($"Stored row {row} has a value that is not finite.", nameof(keys));
            ulong hash = Hash(key);
            int slot = (int)hash & _slotMask;
            while (_slots[slot] != 0)
            {
                int other = (int)(uint)_slots[slot] - 1;
                if (Equal(key, Key(other)))
                    throw new ArgumentException($"Stored rows {other} and {row} are equal.", nameof(keys));
                slot = (slot + 1) & _slotMask;
            }
            _slots[slot] = (hash & 0xFFFFFFFF00000000UL) | (uint)(row + 1);
        }
    }

    /// <summary>The network whose outputs the offsets correct.</summary>
    public FeedForwardNetwork Inner { get; }

    /// <summary>Number of stored rows.</summary>
    public int RowCount => _keys.Length / InputCount;

    /// <summary>The stored rows, row-major (read only: the table is built from them).</summary>
    internal ReadOnlySpan<float> Keys => _keys;

    /// <summary>The offsets, row-major.</summary>
    internal ReadOnlySpan<float> Offsets => _offsets;

    public override int TrainingWidth => Inner.TrainingWidth;

    public override int NeuronsPerRow => Inner.NeuronsPerRow;

    public override string Describe() => $"{Inner.Describe()}, offsets for {RowCount:N0} repeated training rows";

    private ReadOnlySpan<float> Key(int row) => _keys.AsSpan(row * InputCount, InputCount);

    /// <summary>The stored row equal to a dense row, or -1.</summary>
    internal int Find(ReadOnlySpan<float> features)
    {
        ulong hash = Hash(features);
        ulong tag = hash & 0xFFFFFFFF00000000UL;
        for (int slot = (int)hash & _slotMask; ; slot = (slot + 1) & _slotMask)
        {
            ulong entry = _slots[slot];
            if (entry == 0)
                return -1;
            if ((entry & 0xFFFFFFFF00000000UL) == tag && Equal(features, Key((int)(uint)entry - 1)))
                return (int)(uint)entry - 1;
        }
    }

    /// <summary>The stored row equal to a sparse row (indices increasing, below <see cref="FeedForwardNetwork.InputCount"/>), or -1.</summary>
    internal int Find(ReadOnlySpan<int> indices, ReadOnlySpan<float> values)
    {
        // The dense row's hash, slot by slot: the tables are at most 1,024 slots wide (RepeatedRowFitting.MaxInputs).
        ulong even = 0, odd = 0;
        int next = 0;
        for (int j = 0; j < InputCount; j++)
        {
            float value = 0;
            if (next < indices.Length && indices[next] == j)
                value = values[next++];
            if ((j & 1) == 0)
                even = Step(even, j, value);
            else
                odd = Step(odd, j, value);
        }
        ulong hash = Finish(even, odd);
        ulong tag = hash & 0xFFFFFFFF00000000UL;
        for (int slot = (int)hash & _slotMask; ; slot = (slot + 1) & _slotMask)
        {
            ulong entry = _slots[slot];
            if (entry == 0)
                return -1;
            if ((entry & 0xFFFFFFFF00000000UL) == tag && EqualSparse(indices, values, Key((int)(uint)entry - 1)))
                return (int)(uint)entry - 1;
        }
    }

    /// <summary>The network's outputs, plus the stored offsets when the row repeats a training row.</summary>
    public override void Score(ReadOnlySpan<float> features, Span<float> output)
    {
        Inner.Score(features, output);
        int row = Find(features);
        if (row >= 0)
            AddOffsets(row, output);
    }

    /// <summary>The network's outputs for a sparse row, plus the stored offsets when it repeats a training row.</summary>
    public override void Score(ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<float> output)
    {
        Inner.Score(indices, values, output);
        int row = Find(indices, values);
        if (row >= 0)
            AddOffsets(row, output);
    }

    /// <summary>The inner network's batch (its grouped kernels), then each row's offsets: bit for bit the one-row results.</summary>
    public override void ScoreBatch(ReadOnlySpan<float> features, int rowCount, Span<float> outputs)
    {
        CheckBatch(features, rowCount, outputs);
        Inner.ScoreBatch(features, rowCount, outputs);
        int inputs = InputCount, outs = OutputCount;
        for (int r = 0; r < rowCount; r++)
        {
            int row = Find(features.Slice(r * inputs, inputs));
            if (row >= 0)
                AddOffsets(row, outputs.Slice(r * outs, outs));
        }
    }

    // A plain loop: the outputs are few (one for binary and regression), below what a vector call pays for.
    internal void AddOffsets(int row, Span<float> output)
    {
        ReadOnlySpan<float> offsets = _offsets.AsSpan(row * OutputCount, OutputCount);
        for (int o = 0; o < offsets.Length; o++)
            output[o] += offsets[o];
    }

    /// <summary>Slot-by-slot float equality (0 equals -0; NaN equals nothing).</summary>
    internal static bool Equal(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        for (int j = 0; j < b.Length; j++)
        {
            if (!(a[j] == b[j]))
                return false;
        }
        return true;
    }

    private static bool EqualSparse(ReadOnlySpan<int> indices, ReadOnlySpan<float> values, ReadOnlySpan<float> key)
    {
        int next = 0;
        for (int j = 0; j < key.Length; j++)
        {
            float value = 0;
            if (next < indices.Length && indices[next] == j)
                value = values[next++];
            if (!(value == key[j]))
                return false;
        }
        return true;
    }

    /// <summary>
    /// A hash of every slot of a row, without a branch: one add and one multiply per slot (a lookup is on every scored row's path),
    /// the even and the odd slots in two independent chains so that their multiplies overlap. <c>value + 0</c> turns -0 into 0, so
    /// rows that compare equal hash equally.
    /// </summary>
    internal static ulong Hash(ReadOnlySpan<float> row)
    {
        ulong even = 0, odd = 0;
        int j = 0;
        for (; j + 1 < row.Length; j += 2)
        {
            even = Step(even, j, row[j]);
            odd = Step(odd, j + 1, row[j + 1]);
        }
        if (j < row.Length)
            even = Step(even, j, row[j]);
        return Finish(even, odd);
    }

    // The slot index sits in the high half, the value's bits in the low half.
    private static ulong Step(ulong hash, int slot, float value)
        => (hash + ((ulong)(uint)slot << 32 | BitConverter.SingleToUInt32Bits(value + 0f))) * 0x9E3779B97F4A7C15UL;

    // The table's index takes the low bits, which a multiply fills only from the low bits of its inputs: the high halves are folded
    // in; the tag takes the high bits.
    private static ulong Finish(ulong even, ulong odd)
    {
        ulong hash = (even ^ (odd * 0xC2B2AE3D27D4EB4FUL)) * 0x94D049BB133111EBUL;
        return hash ^ (hash >> 31);
    }

    // The stored rows live in the input space: a fold of the input transform would move them off the rows they match (and
    // rounding would break the exact comparison), so tables are built only after training has folded its scalings in.
    public override void FoldInputTransform(ReadOnlySpan<float> shift, ReadOnlySpan<float> scale)
        => throw new InvalidOperationException("A network with offsets for repeated rows cannot take an input transform: fold it before the table is built.");

    /// <summary>Outputs <c>y * scale + shift</c>: the inner network folds it, the offsets (differences of outputs) are scaled.</summary>
    public override void FoldOutputTransform(float scale, float shift)
    {
        Inner.FoldOutputTransform(scale, shift);
        TensorPrimitives.Multiply(_offsets, scale, _offsets);
    }

    public override void WeightsChanged() => Inner.WeightsChanged();

    internal override bool HasLegacyKernels => Inner.HasLegacyKernels;

    internal override void KeepLegacyKernels() => Inner.KeepLegacyKernels();

    // Unused: both folds are overridden above.
    protected override IEnumerable<(float[] Weights, float[] Biases)> InputLayers => Array.Empty<(float[], float[])>();

    protected override IEnumerable<float[]> OutputWeightArrays => Array.Empty<float[]>();

    protected override IEnumerable<float[]> OutputBiasArrays => Array.Empty<float[]>();

    public override IEnumerable<float[]> Arrays => Inner.Arrays.Append(_keys).Append(_offsets);

    /// <summary>The inner network's bound plus the largest offset: an output is the inner output plus at most one row's offsets.</summary>
    public override double UnitBoxBound()
    {
        double offsets = _offsets.Length == 0 ? 0 : Math.Abs((double)TensorPrimitives.MaxMagnitude(_offsets));
        double bound = Inner.UnitBoxBound() + offsets;
        return double.IsNaN(bound) ? double.PositiveInfinity : bound;
    }
}
