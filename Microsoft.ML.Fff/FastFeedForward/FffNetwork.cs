using System;
using System.Globalization;
using System.IO;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Microsoft.ML.Fff.Scoring;

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>
/// The weights of one fast feedforward layer (Belcak &amp; Wattenhofer, 2023) in plain arrays, laid out for hard
/// descent, and the pure-C# scorer. No torch type appears here: this is all that production scoring needs.
/// </summary>
/// <remarks>
/// Layout (row-major, every vector the scorer dots with is contiguous):
/// <list type="bullet">
/// <item>node <c>n</c> (level order, children <c>2n+1</c> left and <c>2n+2</c> right): <c>NodeWeights[n*I .. n*I+I)</c>, <c>NodeBiases[n]</c>;</item>
/// <item>leaf <c>j</c>, hidden unit <c>k</c>: input weights <c>HiddenWeights[(j*L+k)*I ..)</c>, bias <c>HiddenBiases[j*L+k]</c>,
/// output weights <c>OutputWeights[(j*L+k)*O ..)</c>; leaf output bias <c>OutputBiases[j*O ..)</c>.</item>
/// </list>
/// </remarks>
internal sealed class FffNetwork
{
    /// <summary>Largest depth a stored model may declare; training allows less (see the trainer's options).</summary>
    public const int MaxStoredDepth = 24;

    /// <summary>
    /// Largest magnitude a stored network may reach, for inputs with every |x_i| ≤ 1, in any node value, hidden
    /// activation or output (see <see cref="UnitBoxBound"/>). Finite weights can still overflow float in a dot
    /// product — a flipped exponent bit multiplies a weight by 2^128 — and such a network would score ∞ or NaN, so
    /// <see cref="Load"/> rejects it. 1e36 leaves a factor of 340 below <see cref="float.MaxValue"/> for rounding.
    /// </summary>
    public const double MaxUnitBoxMagnitude = 1e36;

    public FffNetwork(int inputCount, int outputCount, int depth, int leafWidth)
    {
        CheckShape(inputCount, outputCount, depth, leafWidth);
        InputCount = inputCount;
        OutputCount = outputCount;
        Depth = depth;
        LeafWidth = leafWidth;
        NodeWeights = new float[checked(NodeCount * inputCount)];
        NodeBiases = new float[NodeCount];
        HiddenWeights = new float[checked(LeafCount * leafWidth * inputCount)];
        HiddenBiases = new float[checked(LeafCount * leafWidth)];
        OutputWeights = new float[checked(LeafCount * leafWidth * outputCount)];
        OutputBiases = new float[checked(LeafCount * outputCount)];
    }

    public int InputCount { get; }
    public int OutputCount { get; }
    public int Depth { get; }
    public int LeafWidth { get; }
    public int NodeCount => (1 << Depth) - 1;
    public int LeafCount => 1 << Depth;

    public float[] NodeWeights { get; }
    public float[] NodeBiases { get; }
    public float[] HiddenWeights { get; }
    public float[] HiddenBiases { get; }
    public float[] OutputWeights { get; }
    public float[] OutputBiases { get; }

    /// <summary>Routes a dense row to its leaf: <c>Depth</c> dot products. Returns -1 when a node value is NaN.</summary>
    public int FindLeaf(ReadOnlySpan<float> features) => FindLeaf(new DenseRow(features));

    /// <summary>Routes a sparse row (indices already validated) to its leaf. Returns -1 when a node value is NaN.</summary>
    public int FindLeaf(ReadOnlySpan<int> indices, ReadOnlySpan<float> values) => FindLeaf(new SparseRow(indices, values));

    /// <summary>Hard-descent forward pass for a dense row: touches <c>Depth</c> node neurons and one leaf's <c>LeafWidth</c> neurons.</summary>
    public void Score(ReadOnlySpan<float> features, Span<float> output) => Score(new DenseRow(features), output);

    /// <summary>Hard-descent forward pass for a sparse row given as (indices, values); indices must be validated.</summary>
    public void Score(ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<float> output) => Score(new SparseRow(indices, values), output);

    // One descent for dense and sparse rows: TRow is a struct, so the JIT compiles a copy per row kind with the dot inlined.
    private int FindLeaf<TRow>(TRow row) where TRow : IFeatureRow, allows ref struct
    {
        int node = 0;
        int inputs = InputCount;
        for (int level = 0; level < Depth; level++)
        {
            float z = row.Dot(NodeWeights.AsSpan(node * inputs, inputs)) + NodeBiases[node];
            if (float.IsNaN(z))
                return -1;
            node = 2 * node + (z >= 0 ? 2 : 1);
        }
        return node - NodeCount;
    }

    private void Score<TRow>(TRow row, Span<float> output) where TRow : IFeatureRow, allows ref struct
    {
        int leaf = FindLeaf(row);
        if (leaf < 0)
        {
            output.Slice(0, OutputCount).Fill(float.NaN);
            return;
        }
        int inputs = InputCount, outputs = OutputCount, width = LeafWidth;
        Span<float> result = output.Slice(0, outputs);
        OutputBiases.AsSpan(leaf * outputs, outputs).CopyTo(result);
        int unit = leaf * width;
        for (int k = 0; k < width; k++, unit++)
        {
            float h = row.Dot(HiddenWeights.AsSpan(unit * inputs, inputs)) + HiddenBiases[unit];
            // ReLU; written as !(h <= 0) so a NaN activation reaches the output instead of vanishing.
            if (!(h <= 0))
                TensorPrimitives.MultiplyAdd(OutputWeights.AsSpan(unit * outputs, outputs), h, result, result);
        }
    }

    private interface IFeatureRow
    {
        float Dot(ReadOnlySpan<float> weights);
    }

    private readonly ref struct DenseRow(ReadOnlySpan<float> values) : IFeatureRow
    {
        private readonly ReadOnlySpan<float> _values = values;

        public float Dot(ReadOnlySpan<float> weights) => TensorPrimitives.Dot(_values, weights);
    }

    private readonly ref struct SparseRow(ReadOnlySpan<int> indices, ReadOnlySpan<float> values) : IFeatureRow
    {
        private readonly ReadOnlySpan<int> _indices = indices;
        private readonly ReadOnlySpan<float> _values = values;

        public float Dot(ReadOnlySpan<float> weights) => Kernels.SparseDot(weights, _indices, _values);
    }

    /// <summary>
    /// The soft (training-time) forward pass in C#: every leaf weighted by its path probability. It touches every neuron,
    /// so it is for diagnostics (the soft/hard gap), not for serving. <paramref name="scratch"/> needs <c>2 * LeafCount</c> floats.
    /// </summary>
    public void ScoreSoft(ReadOnlySpan<float> features, Span<float> output, Span<float> scratch)
    {
        int inputs = InputCount, outputs = OutputCount, width = LeafWidth;
        Span<float> mixture = scratch.Slice(0, LeafCount);
        Span<float> next = scratch.Slice(LeafCount, LeafCount);
        mixture[0] = 1;
        for (int level = 0; level < Depth; level++)
        {
            int first = (1 << level) - 1;
            for (int j = 0; j < 1 << level; j++)
            {
                int node = first + j;
                float p = Kernels.Sigmoid(TensorPrimitives.Dot(features, NodeWeights.AsSpan(node * inputs, inputs)) + NodeBiases[node]);
                next[2 * j] = mixture[j] * (1 - p);
                next[2 * j + 1] = mixture[j] * p;
            }
            next.Slice(0, 2 << level).CopyTo(mixture);
        }
        Span<float> result = output.Slice(0, outputs);
        result.Clear();
        for (int leaf = 0; leaf < LeafCount; leaf++)
        {
            float m = mixture[leaf];
            TensorPrimitives.MultiplyAdd(OutputBiases.AsSpan(leaf * outputs, outputs), m, result, result);
            int unit = leaf * width;
            for (int k = 0; k < width; k++, unit++)
            {
                float h = TensorPrimitives.Dot(features, HiddenWeights.AsSpan(unit * inputs, inputs)) + HiddenBiases[unit];
                if (!(h <= 0))
                    TensorPrimitives.MultiplyAdd(OutputWeights.AsSpan(unit * outputs, outputs), h * m, result, result);
            }
        }
    }

    /// <summary>
    /// Folds an input affine map into the first-layer weights: the network then computes on raw <c>x</c> what it
    /// computed before on <c>(x - shift) * scale</c>. Training normalizes features this way without the scorer
    /// paying for it; subtracting only through the biases keeps sparse rows sparse.
    /// </summary>
    public void FoldInputTransform(ReadOnlySpan<float> shift, ReadOnlySpan<float> scale)
    {
        FoldInto(NodeWeights, NodeBiases, shift, scale);
        FoldInto(HiddenWeights, HiddenBiases, shift, scale);
    }

    private void FoldInto(float[] weights, float[] biases, ReadOnlySpan<float> shift, ReadOnlySpan<float> scale)
    {
        for (int row = 0; row < biases.Length; row++)
        {
            Span<float> w = weights.AsSpan(row * InputCount, InputCount);
            TensorPrimitives.Multiply(w, scale, w);
            biases[row] -= TensorPrimitives.Dot(w, shift);
        }
    }

    /// <summary>Folds an output affine map: outputs become <c>y * scale + shift</c> (regression label standardization).</summary>
    public void FoldOutputTransform(float scale, float shift)
    {
        TensorPrimitives.Multiply(OutputWeights, scale, OutputWeights);
        TensorPrimitives.Multiply(OutputBiases, scale, OutputBiases);
        TensorPrimitives.Add(OutputBiases, shift, OutputBiases);
    }

    /// <summary>
    /// An upper bound, over all inputs with every |x_i| ≤ 1, on the magnitude of every node value, hidden
    /// pre-activation and output (L1 norms of the weight rows plus the biases, chained through each leaf).
    /// Infinite when a weight is not finite or a row's norm overflows float.
    /// </summary>
    public double UnitBoxBound()
    {
        int inputs = InputCount, outputs = OutputCount, width = LeafWidth;
        double bound = 0;
        for (int node = 0; node < NodeCount; node++)
            bound = Math.Max(bound, RowBound(NodeWeights.AsSpan(node * inputs, inputs), NodeBiases[node]));
        double[] leafOutput = new double[outputs];
        for (int leaf = 0; leaf < LeafCount; leaf++)
        {
            for (int o = 0; o < outputs; o++)
                leafOutput[o] = Math.Abs((double)OutputBiases[leaf * outputs + o]);
            for (int unit = leaf * width; unit < (leaf + 1) * width; unit++)
            {
                double h = RowBound(HiddenWeights.AsSpan(unit * inputs, inputs), HiddenBiases[unit]);
                bound = Math.Max(bound, h);
                ReadOnlySpan<float> w = OutputWeights.AsSpan(unit * outputs, outputs);
                for (int o = 0; o < outputs; o++)
                    leafOutput[o] += h * Math.Abs((double)w[o]);
            }
            foreach (double value in leafOutput)
                bound = Math.Max(bound, value);
        }
        return double.IsNaN(bound) ? double.PositiveInfinity : bound;
    }

    private static double RowBound(ReadOnlySpan<float> weights, float bias)
        => (double)TensorPrimitives.SumOfMagnitudes(weights) + Math.Abs((double)bias);

    /// <summary>True when every weight is finite.</summary>
    public bool IsFinite()
    {
        foreach (float[] array in new[] { NodeWeights, NodeBiases, HiddenWeights, HiddenBiases, OutputWeights, OutputBiases })
        {
            foreach (float value in array)
            {
                if (!float.IsFinite(value))
                    return false;
            }
        }
        return true;
    }

    // *** Binary format ***
    // int32  input count I            (1 .. 2^28)
    // int32  output count O           (1 .. 2^20)
    // int32  depth D                  (0 .. MaxStoredDepth)
    // int32  leaf width L             (1 .. 2^16)
    // int32  activation               (0 = ReLU; the only value so far)
    // then six float arrays, each as int32 count followed by count float32 values, in this order and with these counts:
    //   node weights (2^D - 1) * I, node biases 2^D - 1, hidden weights 2^D * L * I, hidden biases 2^D * L,
    //   output weights 2^D * L * O, output biases 2^D * O.
    // All little endian. In an ML.NET model file this follows ML.NET's 256-byte ModelHeader and the int32 sizeof(float)
    // that ModelParametersBase writes; the rest of the header's model block is exactly these bytes, no more, no less.
    // Load also requires: at most int.MaxValue floats in all; every weight finite; and, for inputs in [-1, 1], no node
    // value, hidden activation or output above MaxUnitBoxMagnitude (see UnitBoxBound). Anything else is rejected with
    // InvalidDataException("Corrupt FFF model: ..."), before any array is allocated when a size is wrong.
    // Version history (the model parameters' VersionInfo carries the version):
    //   0x00010001  initial format.

    public void Save(BinaryWriter writer)
    {
        writer.Write(InputCount);
        writer.Write(OutputCount);
        writer.Write(Depth);
        writer.Write(LeafWidth);
        writer.Write(0);
        WriteArray(writer, NodeWeights);
        WriteArray(writer, NodeBiases);
        WriteArray(writer, HiddenWeights);
        WriteArray(writer, HiddenBiases);
        WriteArray(writer, OutputWeights);
        WriteArray(writer, OutputBiases);
    }

    /// <summary>Bytes of the five <c>int32</c> fields that open the format.</summary>
    private const int FieldBytes = 5 * sizeof(int);

    /// <summary>
    /// Reads a network, validating every size against the format's limits and the stream before allocating. Every
    /// problem is an <see cref="InvalidDataException"/> whose message starts with "Corrupt FFF model:".
    /// </summary>
    /// <param name="reader">Positioned at the first field.</param>
    /// <param name="byteCount">
    /// The exact number of bytes the network occupies, when the container knows it (ML.NET's model block); the declared
    /// shape must then account for exactly these bytes. When null, a seekable stream must merely be long enough.
    /// </param>
    public static FffNetwork Load(BinaryReader reader, long? byteCount = null)
    {
        if (byteCount < FieldBytes)
            throw Corrupt($"the model block holds {byteCount} bytes, fewer than the {FieldBytes} bytes of the shape fields.");
        Stream stream = reader.BaseStream;
        long start = stream.CanSeek ? stream.Position : 0;
        int inputCount = ReadInt32(reader);
        int outputCount = ReadInt32(reader);
        int depth = ReadInt32(reader);
        int leafWidth = ReadInt32(reader);
        int activation = ReadInt32(reader);
        if (inputCount < 1 || inputCount > (1 << 28) || outputCount < 1 || outputCount > (1 << 20)
            || depth < 0 || depth > MaxStoredDepth || leafWidth < 1 || leafWidth > (1 << 16))
        {
            throw Corrupt($"shape (inputs {inputCount}, outputs {outputCount}, depth {depth}, leaf width {leafWidth}) is out of range.");
        }
        if (activation != 0)
            throw Corrupt($"unknown activation code {activation}.");

        // Leaf units first: 2^24 leaves of 2^16 units times 2^28 inputs would overflow a long.
        long leaves = 1L << depth;
        long units = leaves * leafWidth;
        long floats = units > int.MaxValue
            ? long.MaxValue
            : (leaves - 1) * (inputCount + 1L) + units * (inputCount + 1L + outputCount) + leaves * outputCount;
        if (floats > int.MaxValue)
            throw Corrupt("the declared shape needs more weights than one array can hold.");
        long needed = FieldBytes + 6 * sizeof(int) + floats * sizeof(float);
        if (byteCount is long available && available != needed)
        {
            throw Corrupt($"the declared shape (inputs {inputCount}, outputs {outputCount}, depth {depth}, leaf width {leafWidth}) "
                + $"needs {needed} bytes but the model block holds {available} (truncated or padded?).");
        }
        if (stream.CanSeek && stream.Length - start < needed)
            throw Corrupt("the file is shorter than its declared shape needs (truncated?).");

        var network = new FffNetwork(inputCount, outputCount, depth, leafWidth);
        ReadArray(reader, network.NodeWeights, "node weights");
        ReadArray(reader, network.NodeBiases, "node biases");
        ReadArray(reader, network.HiddenWeights, "hidden weights");
        ReadArray(reader, network.HiddenBiases, "hidden biases");
        ReadArray(reader, network.OutputWeights, "output weights");
        ReadArray(reader, network.OutputBiases, "output biases");
        if (!network.IsFinite())
            throw Corrupt("a stored weight is NaN or infinite.");
        double bound = network.UnitBoxBound();
        if (!(bound <= MaxUnitBoxMagnitude))
        {
            string reach = double.IsInfinity(bound) ? "beyond the float range" : "up to " + bound.ToString("E2", CultureInfo.InvariantCulture);
            throw Corrupt($"the stored weights are so large that inputs in [-1, 1] could produce values {reach} "
                + "(the limit is 1e36), so scores would overflow to infinity or NaN.");
        }
        return network;
    }

    /// <summary>The exception for every corrupt stored network: an <see cref="InvalidDataException"/> saying so first.</summary>
    internal static InvalidDataException Corrupt(string problem, Exception? inner = null)
        => new InvalidDataException("Corrupt FFF model: " + problem, inner);

    private static int ReadInt32(BinaryReader reader)
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

    internal static void CheckShape(int inputCount, int outputCount, int depth, int leafWidth)
    {
        if (inputCount < 1)
            throw new ArgumentOutOfRangeException(nameof(inputCount), inputCount, "The feature vector must have at least one slot.");
        if (outputCount < 1)
            throw new ArgumentOutOfRangeException(nameof(outputCount), outputCount, "The network must have at least one output.");
        if (depth < 0 || depth > MaxStoredDepth)
            throw new ArgumentOutOfRangeException(nameof(depth), depth, $"Depth must be between 0 and {MaxStoredDepth}.");
        if (leafWidth < 1)
            throw new ArgumentOutOfRangeException(nameof(leafWidth), leafWidth, "Leaf width must be at least 1.");
    }

    private static void WriteArray(BinaryWriter writer, float[] values)
    {
        writer.Write(values.Length);
        writer.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    }

    private static void ReadArray(BinaryReader reader, float[] destination, string what)
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
