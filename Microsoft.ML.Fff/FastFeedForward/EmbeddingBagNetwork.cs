using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Scoring;

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>
/// A learned embedding table in front of an FFF: a row's features weight the table's rows, their sum is a
/// <see cref="Dimension"/>-wide vector, and the head (an <see cref="FastFeedForwardNetwork"/> or <see cref="NeuronTreeNetwork"/> on that
/// many inputs) scores it by hard descent. Fed a mean bag of tokens (count / tokens in the row), the sum is the mean
/// embedding of the row's tokens. No torch type appears here.
/// </summary>
/// <remarks>
/// The table is token-major: token <c>i</c>'s embedding is <c>Embeddings[i*d .. i*d+d)</c>, so a sparse row costs one
/// contiguous <c>d</c>-wide multiply-add per non-zero, then the head's <c>Depth + LeafWidth</c> neurons on <c>d</c> inputs.
/// It is a low-rank factorization of the FFF's first layer (<c>W = E A</c>), shared by the nodes and the leaves.
/// </remarks>
internal sealed partial class EmbeddingBagNetwork : FeedForwardNetwork
{
    /// <summary>Largest embedding dimension a stored model may declare (and the trainers accept): the sum lives on the stack.</summary>
    public const int MaxDimension = 4096;

    /// <summary>Largest input (vocabulary) width a stored model may declare, as for the other networks.</summary>
    public const int MaxInputs = 1 << 28;

    public EmbeddingBagNetwork(int inputCount, FeedForwardNetwork head)
        : this(inputCount, head, null)
    {
    }

    /// <summary>A network over an existing table (<c>inputCount x head.InputCount</c> values), or a new zero table when null.</summary>
    private EmbeddingBagNetwork(int inputCount, FeedForwardNetwork head, float[]? embeddings)
        : base(inputCount, head.OutputCount)
    {
        if (head.Kind is not (NetworkKind.FastFeedForward or NetworkKind.NeuronTree or NetworkKind.LeafTreeEnsemble))
            throw new ArgumentException($"The head of an embedding bag must be an FFF, not {head.Kind}.", nameof(head));
        if (head.InputCount > MaxDimension)
            throw new ArgumentOutOfRangeException(nameof(head), head.InputCount, $"The embedding dimension must be between 1 and {MaxDimension}.");
        Head = head;
        Embeddings = embeddings ?? new float[checked((long)inputCount * head.InputCount)];
    }

    /// <summary>The FFF that scores the summed embedding (its inputs are the embedding dimension).</summary>
    public FeedForwardNetwork Head { get; }

    /// <summary>Embedding dimension <c>d</c>.</summary>
    public int Dimension => Head.InputCount;

    /// <summary>The table, <c>InputCount x Dimension</c>, row-major (token-major).</summary>
    public float[] Embeddings { get; }

    public override int TrainingWidth => Head.TrainingWidth;

    public override int NeuronsPerRow => Head.NeuronsPerRow;

    public override string Describe() => $"embedding bag {InputCount} x {Dimension} + {Head.Describe()}";

    /// <summary>Sums <c>x_i * E[i]</c> over the non-zero slots of a dense row into <paramref name="embedding"/>.</summary>
    public void Embed(ReadOnlySpan<float> features, Span<float> embedding)
    {
        int d = Dimension;
        embedding.Clear();
        ReadOnlySpan<float> x = features.Slice(0, InputCount);
        for (int i = 0; i < x.Length; i++)
        {
            // NaN != 0, so a NaN feature reaches the sum and the scores.
            if (x[i] != 0)
                TensorPrimitives.MultiplyAdd(Embeddings.AsSpan(i * d, d), x[i], embedding, embedding);
        }
    }

    /// <summary>Sums <c>value * E[index]</c> over a sparse row (indices validated by the caller) into <paramref name="embedding"/>.</summary>
    public void Embed(ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<float> embedding)
    {
        int d = Dimension;
        embedding.Clear();
        for (int k = 0; k < indices.Length; k++)
        {
            if (values[k] != 0)
                TensorPrimitives.MultiplyAdd(Embeddings.AsSpan(indices[k] * d, d), values[k], embedding, embedding);
        }
    }

    public override void Score(ReadOnlySpan<float> features, Span<float> output)
    {
        Span<float> embedding = stackalloc float[Dimension];
        Embed(features, embedding);
        Head.Score(embedding, output);
    }

    public override void Score(ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<float> output)
    {
        Span<float> embedding = stackalloc float[Dimension];
        Embed(indices, values, embedding);
        Head.Score(embedding, output);
    }

    internal override bool HasLegacyKernels => Head.HasLegacyKernels;

    internal override void KeepLegacyKernels() => Head.KeepLegacyKernels();

    /// <summary>
    /// Folds <c>(x - shift) * scale</c> into the table and the head: token <c>i</c>'s row is multiplied by <c>scale_i</c>, and the
    /// constant <c>-sum_i shift_i * scale_i * E[i]</c> it adds to every embedding goes into the head's first-layer biases.
    /// </summary>
    public override void FoldInputTransform(ReadOnlySpan<float> shift, ReadOnlySpan<float> scale)
    {
        int d = Dimension;
        Span<float> offset = stackalloc float[d];
        offset.Clear();
        for (int i = 0; i < InputCount; i++)
        {
            Span<float> row = Embeddings.AsSpan(i * d, d);
            TensorPrimitives.Multiply(row, scale[i], row);
            if (shift[i] != 0)
                TensorPrimitives.MultiplyAdd(row, shift[i], offset, offset);
        }
        Span<float> ones = stackalloc float[d];
        ones.Fill(1f);
        Head.FoldInputTransform(offset, ones);
    }

    /// <summary>The output map is the head's alone.</summary>
    public override void FoldOutputTransform(float scale, float shift) => Head.FoldOutputTransform(scale, shift);

    // The two folds above are overridden, so the base class's generic folding has nothing to visit.
    protected override IEnumerable<(float[] Weights, float[] Biases)> InputLayers => Array.Empty<(float[], float[])>();

    protected override IEnumerable<float[]> OutputWeightArrays => Array.Empty<float[]>();

    protected override IEnumerable<float[]> OutputBiasArrays => Array.Empty<float[]>();

    public override IEnumerable<float[]> Arrays => Head.Arrays.Prepend(Embeddings);

    /// <summary>
    /// For inputs in [-1, 1] every embedding component is at most <c>B = max_k sum_i |E_ik|</c>. Every head value grows at
    /// most linearly with the radius of its input box (affine layers, activations with <c>|act(z)| ≤ |z|</c>, convex mixes),
    /// so the head's unit-box bound times <c>max(1, B)</c> bounds everything after the table.
    /// </summary>
    public override double UnitBoxBound()
    {
        int d = Dimension;
        var columns = new double[d];
        for (int i = 0; i < InputCount; i++)
        {
            ReadOnlySpan<float> row = Embeddings.AsSpan(i * d, d);
            for (int k = 0; k < d; k++)
                columns[k] += Math.Abs((double)row[k]);
        }
        double embedding = columns.Max();
        double bound = Math.Max(embedding, Math.Max(1, embedding) * Head.UnitBoxBound());
        return double.IsNaN(bound) ? double.PositiveInfinity : bound;
    }
}
