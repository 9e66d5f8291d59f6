using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;
using Microsoft.ML.Fff.Scoring;

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>
/// An ensemble of <c>K</c> independent leaf FFFs (<see cref="FastFeedForwardNetwork"/>, each with its own tree, leaves and
/// master leaf) of one shape, trained together; a row descends every member by hard descent and the output is the mean of
/// the members' outputs. Per row it costs <c>K x (Depth + LeafWidth + MasterLeafWidth)</c> neurons. No torch type appears here.
/// </summary>
/// <remarks>
/// Every path (one row dense or sparse, the grouped batch) computes <c>((m_0 + m_1) + ...) + m_(K-1)</c> element by element in
/// member order, then multiplies by <c>1/K</c>, so the batch equals the one-row scorer bit for bit.
/// </remarks>
internal sealed partial class LeafTreeEnsembleNetwork : GroupedBatchNetwork
{
    /// <summary>Most members a stored model may declare; the trainers allow fewer (<see cref="MaxTrainedMembers"/>).</summary>
    public const int MaxStoredMembers = 1024;

    /// <summary>Most members the trainers build (the range of <see cref="FastFeedForwardOptionsBase.EnsembleSize"/>).</summary>
    public const int MaxTrainedMembers = 64;

    // Outputs per stack-allocated member output in the one-row path; more use the per-thread buffer below.
    private const int StackOutputs = 256;

    // Rows per grouped range: bounds the per-thread buffer of member outputs (rows x outputs floats).
    private const int MaxGroupRows = 4096;

    // Member outputs of the batch path (and of wide one-row outputs). Separate from ThreadScratch, which the members use meanwhile.
    [ThreadStatic]
    private static float[]? t_memberOutputs;

    public LeafTreeEnsembleNetwork(IReadOnlyList<FastFeedForwardNetwork> members)
        : base(First(members).InputCount, First(members).OutputCount,
            Math.Max(MinGroupRows, FastFeedForwardNetwork.MinRowsPerThread / members.Count), MinGroupRows, MaxGroupRows)
    {
        if (members.Count < 2 || members.Count > MaxStoredMembers)
            throw new ArgumentOutOfRangeException(nameof(members), members.Count, $"An ensemble has between 2 and {MaxStoredMembers} members.");
        FastFeedForwardNetwork first = members[0];
        foreach (FastFeedForwardNetwork member in members)
        {
            if (!SameShape(member, first))
                throw new ArgumentException($"Every member must have the shape of the first ({first.Describe()}, {first.InputCount} inputs, {first.OutputCount} outputs); one is {member.Describe()}.", nameof(members));
        }
        Members = members.ToArray();
    }

    private const int MinGroupRows = 16;

    private static FastFeedForwardNetwork First(IReadOnlyList<FastFeedForwardNetwork> members)
        => members.Count > 0 ? members[0] : throw new ArgumentOutOfRangeException(nameof(members), 0, "An ensemble needs members.");

    /// <summary>Whether two members have the same inputs, outputs, depth, leaf width and master-leaf width.</summary>
    internal static bool SameShape(FastFeedForwardNetwork a, FastFeedForwardNetwork b)
        => a.InputCount == b.InputCount && a.OutputCount == b.OutputCount && a.Depth == b.Depth && a.LeafWidth == b.LeafWidth && a.MasterWidth == b.MasterWidth;

    /// <summary>The members, in stored order (the order of the sum).</summary>
    public FastFeedForwardNetwork[] Members { get; }

    /// <summary>Number of members <c>K</c>.</summary>
    public int TreeCount => Members.Length;

    /// <summary>Depth of every member's tree.</summary>
    public int Depth => Members[0].Depth;

    /// <summary>Neurons per leaf of every member.</summary>
    public int LeafWidth => Members[0].LeafWidth;

    public override int TrainingWidth => TreeCount * Members[0].TrainingWidth;

    public override int NeuronsPerRow => TreeCount * Members[0].NeuronsPerRow;

    public override string Describe() => $"FFF ensemble of {TreeCount} trees, each {Members[0].Describe()["FFF ".Length..]}";

    /// <summary>The mean of the members' hard-descent outputs for a dense row.</summary>
    public override void Score(ReadOnlySpan<float> features, Span<float> output)
    {
        Span<float> result = output.Slice(0, OutputCount);
        Members[0].Score(features, result);
        Span<float> part = OutputCount <= StackOutputs ? stackalloc float[StackOutputs] : MemberOutputs(OutputCount);
        part = part.Slice(0, OutputCount);
        for (int t = 1; t < Members.Length; t++)
        {
            Members[t].Score(features, part);
            TensorPrimitives.Add(result, part, result);
        }
        TensorPrimitives.Multiply(result, 1f / Members.Length, result);
    }

    /// <summary>The mean of the members' hard-descent outputs for a sparse row (indices validated by the caller).</summary>
    public override void Score(ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<float> output)
    {
        Span<float> result = output.Slice(0, OutputCount);
        Members[0].Score(indices, values, result);
        Span<float> part = OutputCount <= StackOutputs ? stackalloc float[StackOutputs] : MemberOutputs(OutputCount);
        part = part.Slice(0, OutputCount);
        for (int t = 1; t < Members.Length; t++)
        {
            Members[t].Score(indices, values, part);
            TensorPrimitives.Add(result, part, result);
        }
        TensorPrimitives.Multiply(result, 1f / Members.Length, result);
    }

    /// <summary>
    /// Each member scores the range with its own grouped batch (rows grouped by the leaf they reach in that member's tree),
    /// the first into <paramref name="outputs"/> and the others into a per-thread buffer added in member order.
    /// </summary>
    private protected override void ScoreGrouped(ReadOnlySpan<float> features, int first, int count, Span<float> outputs)
    {
        int outs = OutputCount;
        Members[0].ScoreRows(features, first, count, outputs);
        Span<float> sum = outputs.Slice(first * outs, count * outs);
        Span<float> part = MemberOutputs(count * outs);
        ReadOnlySpan<float> rows = features.Slice(first * InputCount, count * InputCount);
        for (int t = 1; t < Members.Length; t++)
        {
            Members[t].ScoreRows(rows, 0, count, part);
            TensorPrimitives.Add(sum, part, sum);
        }
        TensorPrimitives.Multiply(sum, 1f / Members.Length, sum);
    }

    /// <summary>At least <paramref name="count"/> floats of the calling thread's member-output buffer.</summary>
    private static Span<float> MemberOutputs(int count)
    {
        float[]? array = t_memberOutputs;
        if (array == null || array.Length < count)
            t_memberOutputs = array = new float[Math.Max(count, 2 * (array?.Length ?? 0))];
        return array.AsSpan(0, count);
    }

    /// <summary>The mean of the members' soft functions (diagnostics); <paramref name="scratch"/> needs <c>2 * 2^Depth + OutputCount</c> floats.</summary>
    public void ScoreSoft(ReadOnlySpan<float> features, Span<float> output, Span<float> scratch)
    {
        Span<float> result = output.Slice(0, OutputCount);
        Span<float> part = scratch.Slice(0, OutputCount), memberScratch = scratch.Slice(OutputCount);
        Members[0].ScoreSoft(features, result, memberScratch);
        for (int t = 1; t < Members.Length; t++)
        {
            Members[t].ScoreSoft(features, part, memberScratch);
            TensorPrimitives.Add(result, part, result);
        }
        TensorPrimitives.Multiply(result, 1f / Members.Length, result);
    }

    // Scalings fold into every member: the mean of affine maps of the members is the affine map of their mean.
    internal override bool HasLegacyKernels => Members.Any(member => member.HasLegacyKernels);

    internal override void KeepLegacyKernels()
    {
        foreach (FastFeedForwardNetwork member in Members)
            member.KeepLegacyKernels();
    }

    public override void FoldInputTransform(ReadOnlySpan<float> shift, ReadOnlySpan<float> scale)
    {
        foreach (FastFeedForwardNetwork member in Members)
            member.FoldInputTransform(shift, scale);
    }

    public override void FoldOutputTransform(float scale, float shift)
    {
        foreach (FastFeedForwardNetwork member in Members)
            member.FoldOutputTransform(scale, shift);
    }

    // Unused: both folds above delegate to the members, which know their own layers.
    protected override IEnumerable<(float[] Weights, float[] Biases)> InputLayers => Array.Empty<(float[], float[])>();

    protected override IEnumerable<float[]> OutputWeightArrays => Array.Empty<float[]>();

    protected override IEnumerable<float[]> OutputBiasArrays => Array.Empty<float[]>();

    public override IEnumerable<float[]> Arrays => Members.SelectMany(m => m.Arrays);

    /// <summary>
    /// The largest member bound times <c>K</c>: every member's values are within its bound, and the running sum of the
    /// members' outputs (before the division by <c>K</c>) within <c>K</c> times the largest.
    /// </summary>
    public override double UnitBoxBound()
    {
        double bound = 0;
        foreach (FastFeedForwardNetwork member in Members)
            bound = Math.Max(bound, member.UnitBoxBound());
        bound *= Members.Length;
        return double.IsNaN(bound) ? double.PositiveInfinity : bound;
    }
}
