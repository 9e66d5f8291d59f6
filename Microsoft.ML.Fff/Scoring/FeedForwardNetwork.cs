using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Microsoft.ML.Fff.Scoring;

/// <summary>Which network a model holds. The code is stored in the model file (format 0x00010002 and later).</summary>
internal enum NetworkKind
{
    /// <summary>Fast feedforward layer with leaves (<see cref="FastFeedForward.FffNetwork"/>).</summary>
    FastFeedForward = 0,
    /// <summary>Dense multi-layer perceptron (<see cref="Dense.DenseNetwork"/>).</summary>
    Dense = 1,
    /// <summary>Mixture of experts (<see cref="MixtureOfExperts.MoeNetwork"/>).</summary>
    MixtureOfExperts = 2,
    /// <summary>Fast feedforward with neuron nodes (K parallel trees, no leaves).</summary>
    NeuronTree = 3,
    /// <summary>A learned token embedding table feeding an FFF (<see cref="FastFeedForward.EmbeddingBagNetwork"/>).</summary>
    EmbeddingBag = 4,
}

/// <summary>
/// The weights of one trained network in plain arrays and its pure-C# forward pass. Every architecture (FFF, dense,
/// mixture of experts) derives from this; the model parameters, the training session and the scorers only see this
/// class. No torch type appears here: this is all that production scoring needs.
/// </summary>
internal abstract class FeedForwardNetwork
{
    /// <summary>
    /// Largest magnitude a stored network may reach, for inputs with every |x_i| ≤ 1, in any intermediate value or output
    /// (see <see cref="UnitBoxBound"/>). Finite weights can still overflow float in a dot product — a flipped exponent bit
    /// multiplies a weight by 2^128 — so <see cref="Load"/> rejects such a network. 1e36 leaves a factor of 340 below
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

    public abstract NetworkKind Kind { get; }

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

    /// <summary>A deep copy (through the binary format, without the load-time checks).</summary>
    public FeedForwardNetwork Clone()
    {
        var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            Save(writer);
        stream.Position = 0;
        using var reader = new BinaryReader(stream);
        return Read(reader, stream.Length, validate: false);
    }

    // *** Binary format (model files 0x00010002 and later) ***
    // int32  network kind (NetworkKind: 0 FFF, 1 dense, 2 mixture of experts, 3 FFF with neuron nodes, 4 embedding bag + FFF)
    // then the kind's own payload, described next to each network's SavePayload.
    // Files of format 0x00010001 hold an FFF payload without the kind field (FffNetwork.LoadPayload reads both).
    // All little endian. In an ML.NET model file this follows ML.NET's 256-byte ModelHeader and the int32 sizeof(float)
    // that ModelParametersBase writes; the rest of the header's model block is exactly these bytes, no more, no less.
    // Load also requires every weight finite and, for inputs in [-1, 1], no intermediate value or output above
    // MaxUnitBoxMagnitude. Anything else is rejected with InvalidDataException("Corrupt FFF model: ..."), before any
    // array is allocated when a size is wrong.

    /// <summary>Writes the kind code and the payload.</summary>
    public void Save(BinaryWriter writer)
    {
        writer.Write((int)Kind);
        SavePayload(writer);
    }

    /// <summary>Writes this architecture's payload (everything after the kind code).</summary>
    protected abstract void SavePayload(BinaryWriter writer);

    /// <summary>
    /// Reads a network saved by <see cref="Save"/>, validating every size against the format's limits and the stream before
    /// allocating. Every problem is an <see cref="InvalidDataException"/> whose message starts with "Corrupt FFF model:".
    /// </summary>
    /// <param name="reader">Positioned at the kind code.</param>
    /// <param name="byteCount">The exact number of bytes the network occupies, when the container knows it (ML.NET's
    /// model block); when null, a seekable stream must merely be long enough.</param>
    public static FeedForwardNetwork Load(BinaryReader reader, long? byteCount = null) => Read(reader, byteCount, validate: true);

    /// <summary>Reads a network from a model file of format 0x00010001: an FFF payload without the kind code or master leaf.</summary>
    public static FeedForwardNetwork LoadVersion1(BinaryReader reader, long? byteCount = null)
    {
        var payload = new PayloadReader(reader, byteCount);
        FeedForwardNetwork network = FastFeedForward.FffNetwork.LoadPayload(payload, withMasterLeaf: false);
        payload.CheckAtEnd();
        network.Validate();
        return network;
    }

    private static FeedForwardNetwork Read(BinaryReader reader, long? byteCount, bool validate)
    {
        if (byteCount < sizeof(int))
            throw Corrupt($"the model block holds {byteCount} bytes, too few for the network kind.");
        int kind = ReadInt32(reader);
        var payload = new PayloadReader(reader, byteCount - sizeof(int));
        FeedForwardNetwork network = kind switch
        {
            (int)NetworkKind.FastFeedForward => FastFeedForward.FffNetwork.LoadPayload(payload, withMasterLeaf: true),
            (int)NetworkKind.MixtureOfExperts => MixtureOfExperts.MoeNetwork.LoadPayload(payload),
            (int)NetworkKind.NeuronTree => FastFeedForward.NeuronTreeNetwork.LoadPayload(payload),
            (int)NetworkKind.Dense => Dense.DenseNetwork.LoadPayload(payload),
            (int)NetworkKind.EmbeddingBag => FastFeedForward.EmbeddingBagNetwork.LoadPayload(payload),
            _ => throw Corrupt($"unknown network kind {kind}."),
        };
        payload.CheckAtEnd();
        if (validate)
            network.Validate();
        return network;
    }

    /// <summary>Checks that every weight is finite and that no value can overflow for inputs in [-1, 1].</summary>
    internal void Validate()
    {
        if (!IsFinite())
            throw Corrupt("a stored weight is NaN or infinite.");
        double bound = UnitBoxBound();
        if (!(bound <= MaxUnitBoxMagnitude))
        {
            string reach = double.IsInfinity(bound) ? "beyond the float range" : "up to " + bound.ToString("E2", CultureInfo.InvariantCulture);
            throw Corrupt($"the stored weights are so large that inputs in [-1, 1] could produce values {reach} "
                + "(the limit is 1e36), so scores would overflow to infinity or NaN.");
        }
    }

    /// <summary>The exception for every corrupt stored network: an <see cref="InvalidDataException"/> saying so first.</summary>
    internal static InvalidDataException Corrupt(string problem, Exception? inner = null)
        => new InvalidDataException("Corrupt FFF model: " + problem, inner);

    internal static int ReadInt32(BinaryReader reader)
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

    /// <summary>Writes an array as its int32 count followed by the values.</summary>
    protected static void WriteArray(BinaryWriter writer, float[] values)
    {
        writer.Write(values.Length);
        writer.Write(MemoryMarshal.AsBytes(values.AsSpan()));
    }

    /// <summary>Reads an array written by <see cref="WriteArray"/> into a destination of the expected length.</summary>
    internal static void ReadArray(BinaryReader reader, float[] destination, string what)
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

    /// <summary>Bound of one neuron: L1 norm of its weights plus |bias|.</summary>
    protected static double RowBound(ReadOnlySpan<float> weights, float bias)
        => (double)TensorPrimitives.SumOfMagnitudes(weights) + Math.Abs((double)bias);

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

        public int ReadInt32() => FeedForwardNetwork.ReadInt32(Reader);

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
}
