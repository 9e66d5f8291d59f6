using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Scoring;

namespace Microsoft.ML.Fff.InputStages;

/// <summary>
/// A per-feature input stage in front of a network of any other kind: a fixed scalar map per feature
/// (<see cref="FeatureMap"/>: standardization, quantile-normal, robust smooth clip), then optionally a trained numeric
/// embedding (<see cref="NumericEmbeddingLayer"/>), then <see cref="Inner"/> on the result. Nonlinear maps cannot be folded
/// into a first layer, so the stage is stored with the network and applied by the scorer. No torch type appears here.
/// </summary>
internal sealed partial class InputStageNetwork : FeedForwardNetwork
{
    // Rows whose stage buffers fit this many floats use the stack; wider ones a per-thread array of this class (the inner
    // network may use ThreadScratch itself while the stage's buffer is in use).
    private const int StackFloats = 2048;

    [ThreadStatic]
    private static float[]? t_row;

    [ThreadStatic]
    private static float[]? t_batch;

    public InputStageNetwork(FeatureMap map, NumericEmbeddingLayer? embedding, FeedForwardNetwork inner)
        : base(map.InputCount, inner.OutputCount)
    {
        if (inner is InputStageNetwork)
            throw new ArgumentException("An input stage cannot wrap another input stage.", nameof(inner));
        int width = embedding?.OutputCount ?? map.InputCount;
        if (inner.InputCount != width)
            throw new ArgumentException($"The stage gives {width} values but the inner network takes {inner.InputCount}.", nameof(inner));
        if (embedding != null && embedding.InputCount != map.InputCount)
            throw new ArgumentException("The embedding and the map disagree on the input count.", nameof(embedding));
        Map = map;
        Embedding = embedding;
        Inner = inner;
        _clampOnly = map.Kind == FeatureMapKind.Clamp && embedding is null;
        (_lower, _upper) = _clampOnly ? (map.First, map.Second) : (null, null);
    }

    public FeatureMap Map { get; }

    // A clamp without an embedding (ClampToTrainingRange): scored by FeatureMap.ClampKernel, then the inner network; its bounds.
    private readonly bool _clampOnly;
    private readonly float[]? _lower, _upper;


    public NumericEmbeddingLayer? Embedding { get; }

    /// <summary>The network that scores the stage's output.</summary>
    public FeedForwardNetwork Inner { get; }

    public override int TrainingWidth => Inner.TrainingWidth + (Embedding?.Units ?? 0);

    public override int NeuronsPerRow => Inner.NeuronsPerRow + (Embedding?.Units ?? 0);

    public override string Describe() => Map.Kind == FeatureMapKind.Clamp && Embedding is null
        ? $"{Inner.Describe()}, inputs clamped to the training range"
        : $"{Map.Describe()}{(Embedding is null ? "" : " + " + Embedding.Describe())} + {Inner.Describe()}";

    /// <summary>Floats of one row's stage buffers: the mapped row, then the inner network's input when there is an embedding.</summary>
    private int RowFloats => InputCount + (Embedding is null ? 0 : Inner.InputCount);

    /// <summary>Maps (and embeds) a dense row into <paramref name="buffer"/>; returns the inner network's input within it.</summary>
    private Span<float> Transform(ReadOnlySpan<float> features, Span<float> buffer)
    {
        Span<float> mapped = buffer.Slice(0, InputCount);
        Map.Apply(features, mapped);
        if (Embedding is null)
            return mapped;
        Span<float> embedded = buffer.Slice(InputCount, Inner.InputCount);
        Embedding.Apply(mapped, embedded);
        return embedded;
    }

    /// <summary>The inner network's input for one dense row (diagnostics: the soft scorer).</summary>
    internal ReadOnlySpan<float> TransformRow(ReadOnlySpan<float> features, float[] buffer) => Transform(features, buffer);

    /// <summary>Floats <see cref="TransformRow"/> needs in its buffer.</summary>
    internal int TransformFloats => RowFloats;

    private static Span<float> RowScratch(int count)
    {
        float[]? array = t_row;
        if (array == null || array.Length < count)
            t_row = array = new float[count];
        return array.AsSpan(0, count);
    }

    public override void Score(ReadOnlySpan<float> features, Span<float> output)
    {
        if (_clampOnly)
        {
            // The default stage of table models: its cost is added to every row, so it skips the general path's dispatch.
            float[] lower = _lower!, upper = _upper!;
            int inputs = lower.Length;
            Span<float> clamped = inputs <= StackFloats ? stackalloc float[inputs] : RowScratch(inputs);
            FeatureMap.ClampKernel(features.Slice(0, inputs), lower, upper, clamped);
            Inner.Score(clamped, output);
            return;
        }
        int count = RowFloats;
        Span<float> buffer = count <= StackFloats ? stackalloc float[count] : RowScratch(count);
        Inner.Score(Transform(features, buffer), output);
    }

    /// <summary>A sparse row is densified (a map moves 0 to a non-zero value, so every slot is needed).</summary>
    public override void Score(ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<float> output)
    {
        int count = RowFloats + InputCount;
        Span<float> buffer = count <= StackFloats ? stackalloc float[count] : RowScratch(count);
        Span<float> dense = buffer.Slice(RowFloats, InputCount);
        dense.Clear();
        for (int k = 0; k < indices.Length; k++)
            dense[indices[k]] = values[k];
        Inner.Score(Transform(dense, buffer.Slice(0, RowFloats)), output);
    }

    /// <summary>Transforms every row into the inner network's inputs, then lets the inner network's own batch kernels score them.</summary>
    public override void ScoreBatch(ReadOnlySpan<float> features, int rowCount, Span<float> outputs)
    {
        CheckBatch(features, rowCount, outputs);
        if (_clampOnly && rowCount == 1)
        {
            // One row (the span API's usual call): the row path, without the per-thread batch array.
            Score(features, outputs);
            return;
        }
        int width = Inner.InputCount, inputs = InputCount;
        long needed = (long)rowCount * width;
        float[]? array = t_batch;
        if (array == null || array.Length < needed)
            t_batch = array = new float[Math.Max(needed, 2L * (array?.Length ?? 0))];
        if (_clampOnly)
        {
            for (int row = 0; row < rowCount; row++)
                FeatureMap.ClampKernel(features.Slice(row * inputs, inputs), Map.First, Map.Second, array.AsSpan(row * width, width));
            Inner.ScoreBatch(array.AsSpan(0, (int)needed), rowCount, outputs);
            return;
        }
        int count = RowFloats;
        Span<float> buffer = count <= StackFloats ? stackalloc float[count] : RowScratch(count);
        for (int row = 0; row < rowCount; row++)
            Transform(features.Slice(row * inputs, inputs), buffer).CopyTo(array.AsSpan(row * width, width));
        // The inner batch may use other threads; they only read this thread's array.
        Inner.ScoreBatch(array.AsSpan(0, (int)needed), rowCount, outputs);
    }

    internal override bool HasLegacyKernels => Inner.HasLegacyKernels;

    internal override void KeepLegacyKernels() => Inner.KeepLegacyKernels();

    /// <summary>
    /// A clamp alone passes the fold to the inner network (clamping raw values, then the folded affine map, is what training
    /// computed: clamp, then scale). Any other stage takes raw features, so only the identity folds (what the training session
    /// passes for it); its input map belongs to <see cref="Map"/>.
    /// </summary>
    public override void FoldInputTransform(ReadOnlySpan<float> shift, ReadOnlySpan<float> scale)
    {
        if (Map.Kind == FeatureMapKind.Clamp && Embedding is null)
        {
            Inner.FoldInputTransform(shift, scale);
            return;
        }
        for (int j = 0; j < InputCount; j++)
        {
            if (shift[j] != 0 || scale[j] != 1)
                throw new InvalidOperationException("An input stage takes raw features; an input scaling cannot be folded into it.");
        }
    }

    /// <summary>The output map is the inner network's alone.</summary>
    public override void FoldOutputTransform(float scale, float shift) => Inner.FoldOutputTransform(scale, shift);

    // Both folds are overridden, so the base class's generic folding has nothing to visit.
    protected override IEnumerable<(float[] Weights, float[] Biases)> InputLayers => Array.Empty<(float[], float[])>();

    protected override IEnumerable<float[]> OutputWeightArrays => Array.Empty<float[]>();

    protected override IEnumerable<float[]> OutputBiasArrays => Array.Empty<float[]>();

    /// <summary>The map's arrays, the embedding's, then the inner network's.</summary>
    public override IEnumerable<float[]> Arrays => Map.Arrays.Concat(Embedding?.Arrays ?? Array.Empty<float[]>()).Concat(Inner.Arrays);

    /// <summary>
    /// The map bounds its outputs for inputs in [-1, 1], the embedding bounds its own given that, and the inner network's
    /// values grow at most linearly with its input box (as for the embedding bag), so the product bounds everything.
    /// </summary>
    public override double UnitBoxBound()
    {
        double mapped = Map.Bound();
        double stage = Embedding?.Bound(mapped) ?? mapped;
        double bound = Math.Max(stage, Math.Max(1, stage) * Inner.UnitBoxBound());
        return double.IsNaN(bound) ? double.PositiveInfinity : bound;
    }
}
