using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;
using System.Threading.Tasks;
using Microsoft.ML.Fff.Scoring;

namespace Microsoft.ML.Fff.Dense;

/// <summary>
/// The weights of a dense multi-layer perceptron in plain arrays and its pure-C# forward pass: hidden layers of any widths
/// with one activation, then a linear output layer.
/// </summary>
/// <remarks>
/// Layout (row-major per neuron, so every vector the scorer dots with is contiguous): hidden layer <c>l</c> of
/// <c>H_l</c> neurons with fan-in <c>F_l</c> (<c>F_0 = I</c>, <c>F_l = H_(l-1)</c>) holds neuron <c>j</c>'s weights at
/// <c>HiddenWeights[l][j*F_l .. (j+1)*F_l)</c> and its bias at <c>HiddenBiases[l][j]</c>; output <c>o</c> has weights
/// <c>OutputWeights[o*H_last ..)</c> and bias <c>OutputBiases[o]</c>. Every layer goes through
/// <see cref="GemmKernels.MultiplyTransposedAddBias"/>, one row (<see cref="Score(ReadOnlySpan{float}, Span{float})"/>)
/// or a block of rows (<see cref="ScoreBatch"/>) at a time, and activations are applied one row at a time, so a row
/// scores bit-identically alone or in a batch.
/// </remarks>
internal sealed partial class DenseNetwork : FeedForwardNetwork
{
    /// <summary>Most hidden layers a stored model may declare; training allows fewer (see the options).</summary>
    public const int MaxStoredLayers = 64;

    /// <summary>Widest hidden layer a stored model may declare.</summary>
    public const int MaxStoredWidth = 1 << 16;

    /// <summary>Rows per block of <see cref="ScoreBatch"/>: a block's activations stay in L2 while the weights stream past.</summary>
    internal const int BlockRows = 64;

    /// <summary>Multiply-adds a batch must need before <see cref="ScoreBatch"/> spreads its blocks over threads.</summary>
    internal const long ParallelMultiplyAdds = 1 << 22;

    /// <summary>Scratch floats per row up to which <see cref="Score(ReadOnlySpan{float}, Span{float})"/> uses the stack.</summary>
    private const int StackScratchFloats = 2048;

    private readonly int[] _widths;

    public DenseNetwork(int inputCount, int outputCount, ReadOnlySpan<int> hiddenWidths, DenseActivation activation)
        : base(inputCount, outputCount)
    {
        if (hiddenWidths.Length < 1 || hiddenWidths.Length > MaxStoredLayers)
            throw new ArgumentOutOfRangeException(nameof(hiddenWidths), hiddenWidths.Length, $"A dense network needs 1 to {MaxStoredLayers} hidden layers.");
        foreach (int width in hiddenWidths)
        {
            if (width < 1 || width > MaxStoredWidth)
                throw new ArgumentOutOfRangeException(nameof(hiddenWidths), width, $"Hidden layer widths must be between 1 and {MaxStoredWidth}.");
        }
        if (!Enum.IsDefined(activation))
            throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        _widths = hiddenWidths.ToArray();
        Activation = activation;
        HiddenWeights = new float[_widths.Length][];
        HiddenBiases = new float[_widths.Length][];
        int fanIn = inputCount;
        for (int l = 0; l < _widths.Length; l++)
        {
            HiddenWeights[l] = new float[checked(_widths[l] * fanIn)];
            HiddenBiases[l] = new float[_widths[l]];
            fanIn = _widths[l];
        }
        OutputWeights = new float[checked(outputCount * fanIn)];
        OutputBiases = new float[outputCount];
        MaxWidth = _widths.Max();
        MultiplyAddsPerRow = (long)OutputCount * fanIn;
        fanIn = inputCount;
        foreach (int width in _widths)
        {
            MultiplyAddsPerRow += (long)width * fanIn;
            fanIn = width;
        }
    }

    /// <summary>Widths of the hidden layers, from the input side.</summary>
    public IReadOnlyList<int> HiddenWidths => _widths;

    public DenseActivation Activation { get; }

    /// <summary>Per hidden layer: <c>H_l x F_l</c> weights, row-major per neuron.</summary>
    public float[][] HiddenWeights { get; }

    /// <summary>Per hidden layer: <c>H_l</c> biases.</summary>
    public float[][] HiddenBiases { get; }

    /// <summary><c>O x H_last</c> output weights, row-major per output.</summary>
    public float[] OutputWeights { get; }

    public float[] OutputBiases { get; }

    /// <summary>The widest hidden layer.</summary>
    public int MaxWidth { get; }

    /// <summary>Multiply-adds of one dense row.</summary>
    public long MultiplyAddsPerRow { get; }

    public override int TrainingWidth => _widths.Sum();

    public override int NeuronsPerRow => TrainingWidth;

    public override string Describe() => $"Dense {string.Join("-", _widths)} {Activation}";

    /// <summary>Forward pass of one dense row: the batch kernel with a one-row block, so it equals <see cref="ScoreBatch"/> bit for bit.</summary>
    public override void Score(ReadOnlySpan<float> features, Span<float> output)
    {
        int needed = 2 * MaxWidth;
        Span<float> scratch = needed <= StackScratchFloats ? stackalloc float[StackScratchFloats] : ThreadScratch.Floats(needed);
        ForwardBlock(features.Slice(0, InputCount), 1, output.Slice(0, OutputCount), scratch);
    }

    /// <summary>Forward pass of one sparse row (indices validated): the first layer by sparse dot products, the rest as for a dense row.</summary>
    public override void Score(ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<float> output)
    {
        int needed = 2 * MaxWidth;
        Span<float> scratch = needed <= StackScratchFloats ? stackalloc float[StackScratchFloats] : ThreadScratch.Floats(needed);
        int width = _widths[0], inputs = InputCount;
        Span<float> first = scratch.Slice(0, width);
        float[] weights = HiddenWeights[0], biases = HiddenBiases[0];
        for (int j = 0; j < width; j++)
            first[j] = Kernels.SparseDot(weights.AsSpan(j * inputs, inputs), indices, values) + biases[j];
        Activate(first);
        ForwardFrom(1, first, 1, output.Slice(0, OutputCount), scratch);
    }

    /// <summary>
    /// Forward pass of <paramref name="rowCount"/> dense rows in blocks of <see cref="BlockRows"/>, each layer one blocked
    /// matrix multiply; large batches spread their blocks over threads. Every row equals
    /// <see cref="Score(ReadOnlySpan{float}, Span{float})"/> bit for bit. Serial batches allocate nothing after warm-up.
    /// </summary>
    public override void ScoreBatch(ReadOnlySpan<float> features, int rowCount, Span<float> outputs)
    {
        CheckBatch(features, rowCount, outputs);
        if (rowCount == 0)
            return;
        int blocks = (rowCount + BlockRows - 1) / BlockRows;
        int scratchFloats = 2 * Math.Min(rowCount, BlockRows) * MaxWidth;
        if (blocks < 2 || Environment.ProcessorCount < 2 || rowCount * MultiplyAddsPerRow < ParallelMultiplyAdds)
        {
            Span<float> scratch = ThreadScratch.Floats(scratchFloats);
            for (int block = 0; block < blocks; block++)
                ScoreBlock(features, outputs, rowCount, block, scratch);
            return;
        }

        ScoreBlocksInParallel(features, rowCount, outputs, blocks, scratchFloats);
    }

    /// <summary>
    /// The parallel part of <see cref="ScoreBatch"/>, in its own method: the lambda's closure would otherwise be allocated
    /// on every call, serial ones included.
    /// </summary>
    private unsafe void ScoreBlocksInParallel(ReadOnlySpan<float> features, int rowCount, Span<float> outputs, int blocks, int scratchFloats)
    {
        // Spans cannot enter a lambda: pin them and pass the addresses.
        fixed (float* featurePointer = features, outputPointer = outputs)
        {
            nint featureAddress = (nint)featurePointer, outputAddress = (nint)outputPointer;
            int featureLength = features.Length, outputLength = outputs.Length;
            Parallel.For(0, blocks,
                block =>
                {
                    var x = new ReadOnlySpan<float>((float*)featureAddress, featureLength);
                    var y = new Span<float>((float*)outputAddress, outputLength);
                    ScoreBlock(x, y, rowCount, block, ThreadScratch.Floats(scratchFloats));
                });
        }
    }

    private void ScoreBlock(ReadOnlySpan<float> features, Span<float> outputs, int rowCount, int block, Span<float> scratch)
    {
        int first = block * BlockRows;
        int rows = Math.Min(BlockRows, rowCount - first);
        ForwardBlock(features.Slice(first * InputCount, rows * InputCount), rows, outputs.Slice(first * OutputCount, rows * OutputCount), scratch);
    }

    /// <summary>Forward pass of <paramref name="rows"/> dense rows; <paramref name="scratch"/> holds at least <c>2 * rows * MaxWidth</c> floats.</summary>
    private void ForwardBlock(ReadOnlySpan<float> input, int rows, Span<float> output, Span<float> scratch)
    {
        int width = _widths[0];
        Span<float> first = scratch.Slice(0, rows * width);
        GemmKernels.MultiplyTransposedAddBias(input, rows, InputCount, HiddenWeights[0], HiddenBiases[0], first);
        for (int r = 0; r < rows; r++)
            Activate(first.Slice(r * width, width));
        ForwardFrom(1, first, rows, output, scratch);
    }

    /// <summary>
    /// Runs hidden layers <paramref name="layer"/>.. and the output layer on <paramref name="current"/>, the activated
    /// output of layer <c>layer - 1</c>, which lies in the first or second half of <paramref name="scratch"/>.
    /// </summary>
    private void ForwardFrom(int layer, Span<float> current, int rows, Span<float> output, Span<float> scratch)
    {
        int half = rows * MaxWidth;
        bool inFirstHalf = true;
        int fanIn = _widths[layer - 1];
        for (int l = layer; l < _widths.Length; l++)
        {
            int width = _widths[l];
            Span<float> next = scratch.Slice(inFirstHalf ? half : 0, rows * width);
            GemmKernels.MultiplyTransposedAddBias(current, rows, fanIn, HiddenWeights[l], HiddenBiases[l], next);
            for (int r = 0; r < rows; r++)
                Activate(next.Slice(r * width, width));
            current = next;
            fanIn = width;
            inFirstHalf = !inFirstHalf;
        }
        GemmKernels.MultiplyTransposedAddBias(current, rows, fanIn, OutputWeights, OutputBiases, output.Slice(0, rows * OutputCount));
    }

    /// <summary>Applies the activation in place to one row's layer output (always one row, so the same element positions in every path).</summary>
    private void Activate(Span<float> values)
    {
        switch (Activation)
        {
            case DenseActivation.ReLU:
                // Max propagates NaN, so a NaN feature reaches the output instead of vanishing.
                TensorPrimitives.Max(values, 0f, values);
                break;
            case DenseActivation.Tanh:
                TensorPrimitives.Tanh(values, values);
                break;
            default:
                for (int i = 0; i < values.Length; i++)
                    values[i] = Gelu(values[i]);
                break;
        }
    }

    /// <summary>GELU, tanh approximation (as torch's <c>gelu(x, approximate: tanh)</c>).</summary>
    internal static float Gelu(float x)
    {
        const float sqrtTwoOverPi = 0.7978845608028654f;
        float inner = sqrtTwoOverPi * (x + 0.044715f * x * x * x);
        return 0.5f * x * (1f + MathF.Tanh(inner));
    }

    protected override IEnumerable<(float[] Weights, float[] Biases)> InputLayers => new[] { (HiddenWeights[0], HiddenBiases[0]) };

    protected override IEnumerable<float[]> OutputWeightArrays => new[] { OutputWeights };

    protected override IEnumerable<float[]> OutputBiasArrays => new[] { OutputBiases };

    public override IEnumerable<float[]> Arrays
    {
        get
        {
            for (int l = 0; l < _widths.Length; l++)
            {
                yield return HiddenWeights[l];
                yield return HiddenBiases[l];
            }
            yield return OutputWeights;
            yield return OutputBiases;
        }
    }

    /// <summary>
    /// Bound, for inputs with every |x_i| ≤ 1, on every pre-activation, activation and output: per neuron, the L1 norm of its
    /// weights against the previous layer's per-neuron bounds plus |bias|; |ReLU(z)| and |GELU(z)| are at most |z|, |tanh(z)| at most 1.
    /// Partial sums of a dot product are bounded by the same sum of magnitudes.
    /// </summary>
    public override double UnitBoxBound()
    {
        double bound = 0;
        double[] previous = Enumerable.Repeat(1.0, InputCount).ToArray();
        for (int l = 0; l <= _widths.Length; l++)
        {
            bool output = l == _widths.Length;
            int units = output ? OutputCount : _widths[l];
            float[] weights = output ? OutputWeights : HiddenWeights[l];
            float[] biases = output ? OutputBiases : HiddenBiases[l];
            int fanIn = previous.Length;
            var next = new double[units];
            for (int j = 0; j < units; j++)
            {
                double sum = Math.Abs((double)biases[j]);
                ReadOnlySpan<float> row = weights.AsSpan(j * fanIn, fanIn);
                for (int i = 0; i < fanIn; i++)
                    sum += Math.Abs((double)row[i]) * previous[i];
                bound = Math.Max(bound, sum);
                next[j] = !output && Activation == DenseActivation.Tanh ? Math.Min(sum, 1) : sum;
                if (double.IsNaN(sum) || double.IsInfinity(sum))
                    return double.PositiveInfinity;
            }
            previous = next;
        }
        return bound;
    }
}
