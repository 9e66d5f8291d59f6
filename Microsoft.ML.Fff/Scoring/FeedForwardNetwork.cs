using System;
using System.Collections.Generic;
using System.Numerics.Tensors;

namespace Microsoft.ML.Fff.Scoring;

/// <summary>
/// The weights of one trained network in plain arrays and its pure-C# forward pass. Every architecture (FFF, dense,
/// mixture of experts) derives from this; the model parameters, the training session and the scorers only see this
/// class. No torch type appears here: this is all that production scoring needs.
/// </summary>
internal abstract partial class FeedForwardNetwork
{
    /// <summary>
    /// Largest magnitude a stored network may reach, for inputs with every |x_i| ≤ 1, in any intermediate value or output
    /// (see <see cref="UnitBoxBound"/>). Finite weights can still overflow float in a dot product — a flipped exponent bit
    /// multiplies a weight by 2^128 — so loading rejects such a network. 1e36 leaves a factor of 340 below
    /// <see cref="float.MaxValue"/> for rounding.
    /// </summary>
    public const double MaxUnitBoxMagnitude = 1e36;

    protected FeedForwardNetwork(int inputCount, int outputCount)
    {
        if (inputCount < 1)
            throw new ArgumentOutOfRangeException(nameof(inputCount), inputCount, "The feature vector must have at least one slot.");
        if (outputCount < 1)
            throw new ArgumentOutOfRangeException(nameof(outputCount), outputCount, "The network must have at least one output.");
        InputCount = inputCount;
        OutputCount = outputCount;
    }

    public int InputCount { get; }
    public int OutputCount { get; }

    /// <summary>Hidden neurons trained (all of them).</summary>
    public abstract int TrainingWidth { get; }

    /// <summary>Hidden neurons (including routing neurons) evaluated for one scored row.</summary>
    public abstract int NeuronsPerRow { get; }

    /// <summary>A short human-readable shape, e.g. "FFF depth 6 x leaf 16".</summary>
    public abstract string Describe();

    /// <summary>Forward pass of one dense row into <c>output[0..OutputCount)</c>; allocates nothing.</summary>
    public abstract void Score(ReadOnlySpan<float> features, Span<float> output);

    /// <summary>Forward pass of one sparse row (indices validated by the caller) into <c>output[0..OutputCount)</c>.</summary>
    public abstract void Score(ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<float> output);

    /// <summary>
    /// Forward pass of <paramref name="rowCount"/> dense rows (row-major) into <paramref name="outputs"/> (row-major). Each row's
    /// result is bit-identical to <see cref="Score(ReadOnlySpan{float}, Span{float})"/>; architectures override this with
    /// batched kernels.
    /// </summary>
    public virtual void ScoreBatch(ReadOnlySpan<float> features, int rowCount, Span<float> outputs)
    {
        CheckBatch(features, rowCount, outputs);
        ScoreRange(features, 0, rowCount, outputs);
    }

    /// <summary>Throws unless <paramref name="rowCount"/> rows fit in both spans.</summary>
    private protected void CheckBatch(ReadOnlySpan<float> features, int rowCount, Span<float> outputs)
    {
        if (rowCount < 0)
            throw new ArgumentOutOfRangeException(nameof(rowCount));
        if (features.Length < (long)rowCount * InputCount)
            throw new ArgumentException("The features hold fewer than rowCount rows.", nameof(features));
        if (outputs.Length < (long)rowCount * OutputCount)
            throw new ArgumentException("The outputs hold fewer than rowCount rows.", nameof(outputs));
    }

    /// <summary>
    /// Scores rows <c>[first, first + count)</c> of a batch on the calling thread. The default scores row by row; batched
    /// scorers override it with their grouped kernels and call it from <see cref="ScoreRangesInParallel"/>.
    /// </summary>
    private protected virtual void ScoreRange(ReadOnlySpan<float> features, int first, int count, Span<float> outputs)
    {
        int inputs = InputCount, outs = OutputCount;
        for (int row = first; row < first + count; row++)
            Score(features.Slice(row * inputs, inputs), outputs.Slice(row * outs, outs));
    }

    /// <summary>
    /// Adds <c>factor * ReLU(x . w_u + b_u) * v_u</c> for the hidden units <c>[first, first + count)</c> of a ReLU layer
    /// whose unit <c>u</c> has input weights <c>hiddenWeights[u*I ..)</c>, bias <c>hiddenBiases[u]</c> and output vector
    /// <c>outputWeights[u*O ..)</c>: the step the conditional scorers share for a leaf or an expert on the generic row path.
    /// </summary>
    private protected void AddReluUnits<TRow>(TRow row, float[] hiddenWeights, float[] hiddenBiases, float[] outputWeights, int first, int count,
        float factor, Span<float> result)
        where TRow : IFeatureRow, allows ref struct
    {
        int inputs = InputCount, outputs = OutputCount;
        for (int unit = first; unit < first + count; unit++)
        {
            float h = row.Dot(hiddenWeights.AsSpan(unit * inputs, inputs)) + hiddenBiases[unit];
            // ReLU; written as !(h <= 0) so a NaN activation reaches the output instead of vanishing.
            if (!(h <= 0))
                TensorPrimitives.MultiplyAdd(outputWeights.AsSpan(unit * outputs, outputs), h * factor, result, result);
        }
    }

    /// <summary>
    /// Scores a checked batch: rows split into <c>min(cores, rowCount / minRowsPerThread)</c> contiguous ranges, each
    /// scored by <see cref="ScoreRange"/> on a thread of its own; a single range runs on the calling thread.
    /// </summary>
    private protected void ScoreRanges(ReadOnlySpan<float> features, int rowCount, Span<float> outputs, int minRowsPerThread)
    {
        int chunks = Math.Min(Environment.ProcessorCount, rowCount / minRowsPerThread);
        if (chunks < 2)
            ScoreRange(features, 0, rowCount, outputs);
        else
            ScoreRangesInParallel(features, rowCount, outputs, chunks);
    }

    /// <summary>
    /// The parallel part of <see cref="ScoreRanges"/>, in its own method: the lambda's closure would otherwise be
    /// allocated on every call, serial ones included.
    /// </summary>
    private unsafe void ScoreRangesInParallel(ReadOnlySpan<float> features, int rowCount, Span<float> outputs, int chunks)
    {
        // Spans cannot enter a lambda: pin them and pass the addresses.
        fixed (float* featurePointer = features, outputPointer = outputs)
        {
            nint featureAddress = (nint)featurePointer, outputAddress = (nint)outputPointer;
            int featureLength = features.Length, outputLength = outputs.Length;
            System.Threading.Tasks.Parallel.For(0, chunks,
                chunk =>
                {
                    int first = (int)((long)rowCount * chunk / chunks);
                    int end = (int)((long)rowCount * (chunk + 1) / chunks);
                    var x = new ReadOnlySpan<float>((float*)featureAddress, featureLength);
                    var y = new Span<float>((float*)outputAddress, outputLength);
                    ScoreRange(x, first, end - first, y);
                });
        }
    }

    /// <summary>
    /// Folds an input affine map into the first-layer weights: the network then computes on raw <c>x</c> what it computed
    /// before on <c>(x - shift) * scale</c>. Training normalizes features this way without the scorer paying for it;
    /// subtracting only through the biases keeps sparse rows sparse.
    /// </summary>
    public virtual void FoldInputTransform(ReadOnlySpan<float> shift, ReadOnlySpan<float> scale)
    {
        foreach ((float[] weights, float[] biases) in InputLayers)
        {
            for (int row = 0; row < biases.Length; row++)
            {
                Span<float> w = weights.AsSpan(row * InputCount, InputCount);
                TensorPrimitives.Multiply(w, scale, w);
                biases[row] -= TensorPrimitives.Dot(w, shift);
            }
        }
        WeightsChanged();
    }

    /// <summary>
    /// Called after the weight arrays were written in place (a fold, an export from the training module): a network that
    /// keeps a derived copy of its weights for scoring drops it here.
    /// </summary>
    public virtual void WeightsChanged()
    {
    }

    /// <summary>
    /// True when this network (or a network inside it) scores with the kernels of model files older than
    /// <see cref="Persistence.ModelFormat.NarrowKernelsVersion"/>, so that a loaded file keeps the exact scores it was saved with.
    /// </summary>
    internal virtual bool HasLegacyKernels => false;

    /// <summary>Makes the network score with the kernels of files older than <see cref="Persistence.ModelFormat.NarrowKernelsVersion"/> (see <see cref="HasLegacyKernels"/>).</summary>
    internal virtual void KeepLegacyKernels()
    {
    }

    /// <summary>
    /// Folds an output affine map: outputs become <c>y * scale + shift</c> (regression label standardization). Valid because
    /// every architecture's output is a combination, with weights summing to 1, of terms that each end in one of
    /// <see cref="OutputBiasArrays"/>, plus terms without a bias that only need scaling.
    /// </summary>
    public virtual void FoldOutputTransform(float scale, float shift)
    {
        foreach (float[] weights in OutputWeightArrays)
            TensorPrimitives.Multiply(weights, scale, weights);
        foreach (float[] biases in OutputBiasArrays)
        {
            TensorPrimitives.Multiply(biases, scale, biases);
            TensorPrimitives.Add(biases, shift, biases);
        }
        WeightsChanged();
    }

    /// <summary>First-layer weight matrices (rows of <see cref="InputCount"/> values) with their biases.</summary>
    protected abstract IEnumerable<(float[] Weights, float[] Biases)> InputLayers { get; }

    /// <summary>Arrays scaled by <see cref="FoldOutputTransform"/>.</summary>
    protected abstract IEnumerable<float[]> OutputWeightArrays { get; }

    /// <summary>Arrays scaled and shifted by <see cref="FoldOutputTransform"/>.</summary>
    protected abstract IEnumerable<float[]> OutputBiasArrays { get; }

    /// <summary>Every weight array, in the stored order.</summary>
    public abstract IEnumerable<float[]> Arrays { get; }

    /// <summary>True when every weight is finite.</summary>
    public bool IsFinite()
    {
        foreach (float[] array in Arrays)
        {
            foreach (float value in array)
            {
                if (!float.IsFinite(value))
                    return false;
            }
        }
        return true;
    }

    /// <summary>
    /// An upper bound, over all inputs with every |x_i| ≤ 1, on the magnitude of every intermediate value and output.
    /// Infinite when a weight is not finite or a norm overflows.
    /// </summary>
    public abstract double UnitBoxBound();

    /// <summary>
    /// Adds <c>h_u * |v_u|</c> to <paramref name="perOutput"/> for the hidden units <c>[first, first + count)</c> of a ReLU
    /// layer laid out as in <see cref="AddReluUnits"/>, with <c>h_u</c> the <see cref="RowBound"/> of unit <c>u</c>;
    /// returns the largest <c>h_u</c> (0 for no units). The bound step of a leaf or an expert in <see cref="UnitBoxBound"/>.
    /// </summary>
    private protected double AddUnitBounds(float[] hiddenWeights, float[] hiddenBiases, float[] outputWeights, int first, int count, Span<double> perOutput)
    {
        int inputs = InputCount, outputs = OutputCount;
        double bound = 0;
        for (int unit = first; unit < first + count; unit++)
        {
            double h = RowBound(hiddenWeights.AsSpan(unit * inputs, inputs), hiddenBiases[unit]);
            bound = Math.Max(bound, h);
            ReadOnlySpan<float> v = outputWeights.AsSpan(unit * outputs, outputs);
            for (int o = 0; o < outputs; o++)
                perOutput[o] += h * Math.Abs((double)v[o]);
        }
        return bound;
    }

    /// <summary>Bound of one neuron: L1 norm of its weights plus |bias|.</summary>
    protected static double RowBound(ReadOnlySpan<float> weights, float bias)
        => (double)TensorPrimitives.SumOfMagnitudes(weights) + Math.Abs((double)bias);
}
