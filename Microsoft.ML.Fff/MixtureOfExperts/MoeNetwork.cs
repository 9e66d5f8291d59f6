using System;
using System.Collections.Generic;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.Fff.Scoring;

namespace Microsoft.ML.Fff.MixtureOfExperts;

/// <summary>How a mixture of experts picks and weighs the experts of a row.</summary>
public enum MoeGating
{
    /// <summary>
    /// Top-k softmax gating (Shazeer et al., 2017): gate logits <c>g = x W_g + b_g</c> (plus trainable Gaussian noise in
    /// training), the k largest kept, a softmax over those k weighs the chosen experts (the weights sum to 1). With
    /// <c>TopK = 1</c> the weight is always 1 and only the load-balancing loss trains the gate.
    /// </summary>
    SoftmaxTopK,
    /// <summary>
    /// σ-MoE gating (Csordás et al., 2023): scores <c>s = sigmoid(x W_sel + b_sel)</c>, the k largest kept without
    /// renormalisation; expert dropout and an entropy regulariser in training.
    /// </summary>
    Sigma,
}

/// <summary>
/// The weights of a mixture of experts in plain arrays and its pure-C# scorer: a gate over <c>E</c> experts, each a
/// two-layer ReLU MLP of <c>G</c> hidden neurons; a row is scored by its <c>k</c> best experts only.
/// </summary>
/// <remarks>
/// Layout (row-major, every vector the scorer dots with is contiguous):
/// <list type="bullet">
/// <item>gate row <c>e</c>: <c>GateWeights[e*I .. e*I+I)</c>, <c>GateBiases[e]</c>;</item>
/// <item>expert <c>e</c>, hidden neuron <c>j</c> (unit <c>u = e*G + j</c>): input weights <c>HiddenWeights[u*I ..)</c>,
/// bias <c>HiddenBiases[u]</c>, output weights <c>OutputWeights[u*O ..)</c>;</item>
/// <item>one global output bias <c>OutputBias[0 .. O)</c>, always on (experts have no output bias of their own).</item>
/// </list>
/// Scoring: <c>E</c> gate dot products, top-k on the gate logits (ties go to the lower expert index), then
/// <c>y = b_out + sum_{e in topk} w_e * ReLU(x K_e + b_e) V_e</c> with <c>w</c> the softmax over the k kept logits
/// (<see cref="MoeGating.SoftmaxTopK"/>) or <c>sigmoid(logit)</c> (<see cref="MoeGating.Sigma"/>; sigmoid is monotone, so
/// top-k on logits picks the same experts as top-k on scores, without the ties of a saturated sigmoid).
/// </remarks>
internal sealed partial class MoeNetwork : GroupedBatchNetwork
{
    /// <summary>Largest number of experts a stored model may declare (also the trainers' limit).</summary>
    public const int MaxExperts = 4096;

    /// <summary>Largest expert width a stored model may declare (also the trainers' limit).</summary>
    public const int MaxExpertWidth = 1 << 16;

    // Per-row scratch up to these sizes lives on the stack; larger comes from ThreadScratch (no allocation once warm).
    private const int StackFloats = 512;
    private const int StackInts = 256;

    // Batches: rows grouped by expert together (bounds the per-pair scratch), rows per blocked multiply, the fewest rows
    // worth grouping, and the fewest rows per thread worth a parallel split.
    private const int GroupRows = 1024;
    private const int BlockRows = 32;
    private const int MinGroupedRows = 8;
    internal const int MinRowsPerThread = 128;

    public MoeNetwork(int inputCount, int outputCount, int expertCount, int expertWidth, int topK, MoeGating gating)
        : base(inputCount, outputCount, MinRowsPerThread, MinGroupedRows, GroupRows)
    {
        CheckShape(expertCount, expertWidth, topK, gating);
        ExpertCount = expertCount;
        ExpertWidth = expertWidth;
        TopK = topK;
        Gating = gating;
        int units = checked(expertCount * expertWidth);
        GateWeights = new float[checked(expertCount * inputCount)];
        GateBiases = new float[expertCount];
        HiddenWeights = new float[checked(units * inputCount)];
        HiddenBiases = new float[units];
        OutputWeights = new float[checked(units * outputCount)];
        OutputBias = new float[outputCount];
    }

    /// <summary>Number of experts <c>E</c>.</summary>
    public int ExpertCount { get; }

    /// <summary>Hidden neurons per expert <c>G</c>.</summary>
    public int ExpertWidth { get; }

    /// <summary>Experts that score each row <c>k</c>.</summary>
    public int TopK { get; }

    public MoeGating Gating { get; }

    public float[] GateWeights { get; }
    public float[] GateBiases { get; }
    public float[] HiddenWeights { get; }
    public float[] HiddenBiases { get; }
    public float[] OutputWeights { get; }
    public float[] OutputBias { get; }

    public override int TrainingWidth => ExpertCount * ExpertWidth;

    public override int NeuronsPerRow => ExpertCount + TopK * ExpertWidth;

    public override string Describe()
        => $"MoE {ExpertCount} experts x {ExpertWidth}, top-{TopK} {(Gating == MoeGating.Sigma ? "sigma" : "softmax")}";

    /// <summary>
    /// Forward pass of one dense row: the gate's <c>E</c> logits (four per pass over the row), top-k, then the k chosen
    /// experts best first. Uses the kernels of <see cref="GroupedBatchNetwork.ScoreBatch"/>, so both give bit-identical results.
    /// </summary>
    public override void Score(ReadOnlySpan<float> features, Span<float> output)
    {
        int experts = ExpertCount, k = TopK, width = ExpertWidth;
        // Scratch: E gate logits, k weights and one expert's G pre-activations (floats), k chosen experts (ints).
        int floatsNeeded = experts + k + width;
        Span<float> floats = floatsNeeded <= StackFloats ? stackalloc float[StackFloats] : ThreadScratch.Floats(floatsNeeded);
        Span<int> ints = k <= StackInts ? stackalloc int[StackInts] : ThreadScratch.Ints(k);
        Span<float> result = output.Slice(0, OutputCount);
        Span<int> top = ints.Slice(0, k);
        Span<float> weights = floats.Slice(experts, k);
        Span<float> hidden = floats.Slice(experts + k, width);
        ref float x = ref MemoryMarshal.GetReference(features.Slice(0, InputCount));
        Span<float> logits = floats.Slice(0, experts);
        DescentKernels.Units(ref x, ref MemoryMarshal.GetArrayDataReference(GateWeights), GateBiases, InputCount, logits);
        if (!Choose(logits, top, weights))
        {
            result.Fill(float.NaN);
            return;
        }
        OutputBias.CopyTo(result);
        for (int j = 0; j < k; j++)
        {
            DescentKernels.Units(ref x, ref ExpertHiddenWeights(top[j]), HiddenBiases.AsSpan(top[j] * width, width), InputCount, hidden);
            AddActivated(top[j], hidden, weights[j], result);
        }
    }

    /// <summary>Forward pass of one sparse row (indices validated): sparse dot products, otherwise as for a dense row.</summary>
    public override void Score(ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<float> output) => ScoreSparse(new SparseRow(indices, values), output);

    /// <summary>
    /// The experts a dense row is scored by, best first, into <paramref name="experts"/> (length <see cref="TopK"/>), and
    /// their weights into <paramref name="weights"/>. Returns false (and fills nothing) when a gate logit is NaN.
    /// </summary>
    public bool SelectExperts(ReadOnlySpan<float> features, Span<int> experts, Span<float> weights)
    {
        Span<float> logits = ExpertCount <= StackFloats ? stackalloc float[StackFloats] : ThreadScratch.Floats(ExpertCount);
        logits = logits.Slice(0, ExpertCount);
        DescentKernels.Units(ref MemoryMarshal.GetReference(features.Slice(0, InputCount)), ref MemoryMarshal.GetArrayDataReference(GateWeights),
            GateBiases, InputCount, logits);
        return Choose(logits, experts.Slice(0, TopK), weights.Slice(0, TopK));
    }

    /// <summary>The first hidden weight of expert <paramref name="expert"/>: its <c>G x I</c> matrix is contiguous from here.</summary>
    private ref float ExpertHiddenWeights(int expert)
        => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(HiddenWeights), (nint)expert * ExpertWidth * InputCount);

    /// <summary>Adds <c>weight * sum_j ReLU(h_j) V_{e,j}</c> for expert <paramref name="expert"/>'s pre-activations <paramref name="hidden"/>.</summary>
    private void AddActivated(int expert, ReadOnlySpan<float> hidden, float weight, Span<float> result)
    {
        int outputs = OutputCount;
        DescentKernels.AddActivated(hidden, OutputWeights.AsSpan(expert * ExpertWidth * outputs, hidden.Length * outputs), weight, result);
    }

    /// <summary>
    /// Batched scoring grouped by expert (the batch of <see cref="GroupedBatchNetwork.ScoreBatch"/>): the gate of a block
    /// of rows as one blocked multiply, top-k per row, then each expert's rows as one blocked multiply
    /// (<see cref="DescentKernels.UnitsBlock"/>) so an expert's weights are read once per block instead of once per row;
    /// each row's experts are then added best first, as in <see cref="Score(ReadOnlySpan{float}, Span{float})"/>, which
    /// every row equals bit for bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private protected override void ScoreGrouped(ReadOnlySpan<float> features, int first, int count, Span<float> outputs)
    {
        int inputs = InputCount, outs = OutputCount, experts = ExpertCount, k = TopK, width = ExpertWidth;
        int pairs = count * k;
        // Floats: gate logits (a block of rows at a time), weights and hidden values of every (row, slot) pair, one expert block.
        Span<float> floats = ThreadScratch.Floats(BlockRows * experts + pairs + pairs * width + BlockRows * width);
        Span<float> logits = floats.Slice(0, BlockRows * experts);
        Span<float> pairWeights = floats.Slice(BlockRows * experts, pairs);
        Span<float> pairHidden = floats.Slice(BlockRows * experts + pairs, pairs * width);
        Span<float> blockHidden = floats.Slice(BlockRows * experts + pairs + pairs * width, BlockRows * width);
        // Ints: the chosen expert of every pair, the pairs sorted by expert, per-expert offsets, one block of row indices.
        Span<int> ints = ThreadScratch.Ints(pairs + pairs + experts + 1 + count + BlockRows);
        Span<int> pairExpert = ints.Slice(0, pairs);
        Span<int> sorted = ints.Slice(pairs, pairs);
        Span<int> offsets = ints.Slice(2 * pairs, experts + 1);
        Span<int> chosen = ints.Slice(2 * pairs + experts + 1, count);   // 1 when the row was routed (no NaN logit)
        Span<int> block = ints.Slice(2 * pairs + experts + 1 + count, BlockRows);
        ref float gate = ref MemoryMarshal.GetArrayDataReference(GateWeights);

        // Gate: one blocked multiply per block of rows, then top-k per row.
        for (int start = 0; start < count; start += BlockRows)
        {
            int rows = Math.Min(BlockRows, count - start);
            for (int t = 0; t < rows; t++)
                block[t] = first + start + t;
            DescentKernels.UnitsBlock(features, block.Slice(0, rows), ref gate, GateBiases, inputs, logits);
            for (int t = 0; t < rows; t++)
            {
                int r = start + t;
                bool routed = Choose(logits.Slice(t * experts, experts), pairExpert.Slice(r * k, k), pairWeights.Slice(r * k, k));
                chosen[r] = routed ? 1 : 0;
                if (!routed)
                {
                    outputs.Slice((first + r) * outs, outs).Fill(float.NaN);
                    pairExpert.Slice(r * k, k).Fill(-1);
                }
            }
        }

        // The (row, slot) pairs by expert.
        Grouping.CountingSort(pairExpert, offsets, sorted);
        // offsets[e] now holds the end of expert e's pairs; expert e's start is the previous expert's end.

        // Experts: each expert's rows in blocks, one blocked multiply each; pre-activations kept per pair.
        int begin = 0;
        for (int e = 0; e < experts; e++)
        {
            int end = offsets[e];
            ReadOnlySpan<float> biases = HiddenBiases.AsSpan(e * width, width);
            for (int start = begin; start < end; start += BlockRows)
            {
                int rows = Math.Min(BlockRows, end - start);
                for (int t = 0; t < rows; t++)
                    block[t] = first + sorted[start + t] / k;
                DescentKernels.UnitsBlock(features, block.Slice(0, rows), ref ExpertHiddenWeights(e), biases, inputs, blockHidden);
                for (int t = 0; t < rows; t++)
                    blockHidden.Slice(t * width, width).CopyTo(pairHidden.Slice(sorted[start + t] * width, width));
            }
            begin = end;
        }

        // Outputs: each routed row's experts added best first, as the one-row path does.
        for (int r = 0; r < count; r++)
        {
            if (chosen[r] == 0)
                continue;
            Span<float> result = outputs.Slice((first + r) * outs, outs);
            OutputBias.CopyTo(result);
            for (int j = 0; j < k; j++)
            {
                int p = r * k + j;
                AddActivated(pairExpert[p], pairHidden.Slice(p * width, width), pairWeights[p], result);
            }
        }
    }

    private void ScoreSparse<TRow>(TRow row, Span<float> output) where TRow : IFeatureRow, allows ref struct
    {
        int experts = ExpertCount, k = TopK;
        Span<float> floats = experts + k <= StackFloats ? stackalloc float[StackFloats] : ThreadScratch.Floats(experts + k);
        Span<int> ints = k <= StackInts ? stackalloc int[StackInts] : ThreadScratch.Ints(k);
        Span<float> result = output.Slice(0, OutputCount);
        Span<int> top = ints.Slice(0, k);
        Span<float> weights = floats.Slice(experts, k);
        if (!Select(row, floats.Slice(0, experts), top, weights))
        {
            result.Fill(float.NaN);
            return;
        }
        OutputBias.CopyTo(result);
        for (int j = 0; j < k; j++)   // weight_e * ReLU(x K_e + b_e) V_e of each chosen expert
            AddReluUnits(row, HiddenWeights, HiddenBiases, OutputWeights, top[j] * ExpertWidth, ExpertWidth, weights[j], result);
    }

    /// <summary>
    /// Gate logits, top-k (ties to the lower index, best first) and the chosen experts' weights. False when a logit is NaN.
    /// </summary>
    private bool Select<TRow>(TRow row, Span<float> logits, Span<int> top, Span<float> weights) where TRow : IFeatureRow, allows ref struct
    {
        int inputs = InputCount;
        for (int e = 0; e < ExpertCount; e++)
            logits[e] = row.Dot(GateWeights.AsSpan(e * inputs, inputs)) + GateBiases[e];
        return Choose(logits, top, weights);
    }

    /// <summary>Top-k of the gate logits (best first) and the chosen experts' weights. False when a logit is NaN.</summary>
    private bool Choose(ReadOnlySpan<float> logits, Span<int> top, Span<float> weights)
    {
        int k = TopK;
        foreach (float z in logits)
        {
            if (float.IsNaN(z))
                return false;
        }
        SelectTopK(logits, top);
        if (Gating == MoeGating.Sigma)
        {
            for (int j = 0; j < k; j++)
                weights[j] = Kernels.Sigmoid(logits[top[j]]);
        }
        else
        {
            // Softmax over the kept logits, shifted by the largest (the first): finite for any finite logits.
            float max = logits[top[0]];
            float sum = 0;
            for (int j = 0; j < k; j++)
            {
                float w = MathF.Exp(logits[top[j]] - max);
                weights[j] = w;
                sum += w;
            }
            for (int j = 0; j < k; j++)
                weights[j] /= sum;
        }
        return true;
    }

    /// <summary>
    /// The indices of the <c>top.Length</c> largest values, largest first; equal values are ordered by index (the lower
    /// index wins a tie for the last place). Insertion into a sorted prefix: no allocation, <c>O(E k)</c> at worst.
    /// </summary>
    internal static void SelectTopK(ReadOnlySpan<float> values, Span<int> top)
    {
        int k = top.Length, count = 0;
        for (int e = 0; e < values.Length; e++)
        {
            float v = values[e];
            if (count == k && !(v > values[top[k - 1]]))
                continue;
            // Strictly greater moves ahead, so an earlier (lower) index stays ahead of an equal later value.
            int position = count == k ? k - 1 : count++;
            while (position > 0 && v > values[top[position - 1]])
            {
                top[position] = top[position - 1];
                position--;
            }
            top[position] = e;
        }
    }

    protected override IEnumerable<(float[] Weights, float[] Biases)> InputLayers => new[] { (GateWeights, GateBiases), (HiddenWeights, HiddenBiases) };

    // y = b_out + sum_e w_e * (expert output without bias): the always-on global bias takes the shift for either gating.
    protected override IEnumerable<float[]> OutputWeightArrays => new[] { OutputWeights };

    protected override IEnumerable<float[]> OutputBiasArrays => new[] { OutputBias };

    public override IEnumerable<float[]> Arrays => new[] { GateWeights, GateBiases, HiddenWeights, HiddenBiases, OutputWeights, OutputBias };

    /// <summary>
    /// An upper bound, over all inputs with every |x_i| ≤ 1, on every gate logit, hidden pre-activation and output: each
    /// expert's output is bounded by <c>sum_u h_u |V_u|</c>; softmax weights sum to 1 (the largest expert bound), sigmoid
    /// weights are each at most 1 (the sum of the k largest expert bounds). Infinite when a weight is not finite.
    /// </summary>
    public override double UnitBoxBound()
    {
        int inputs = InputCount, outputs = OutputCount, width = ExpertWidth;
        double bound = 0;
        for (int e = 0; e < ExpertCount; e++)
            bound = Math.Max(bound, RowBound(GateWeights.AsSpan(e * inputs, inputs), GateBiases[e]));
        var expertBounds = new double[ExpertCount];
        var perOutput = new double[outputs];
        for (int e = 0; e < ExpertCount; e++)
        {
            Array.Clear(perOutput);
            bound = Math.Max(bound, AddUnitBounds(HiddenWeights, HiddenBiases, OutputWeights, e * width, width, perOutput));
            double expertBound = 0;
            foreach (double value in perOutput)
                expertBound = Math.Max(expertBound, value);
            expertBounds[e] = expertBound;
        }
        Array.Sort(expertBounds);
        double mixed = 0;
        if (Gating == MoeGating.Sigma)
        {
            for (int j = 0; j < TopK; j++)
                mixed += expertBounds[ExpertCount - 1 - j];
        }
        else
        {
            mixed = expertBounds[ExpertCount - 1];
        }
        double biasBound = 0;
        foreach (float b in OutputBias)
            biasBound = Math.Max(biasBound, Math.Abs((double)b));
        bound = Math.Max(bound, biasBound + mixed);
        return double.IsNaN(bound) ? double.PositiveInfinity : bound;
    }

    internal static void CheckShape(int expertCount, int expertWidth, int topK, MoeGating gating)
    {
        if (expertCount < 2 || expertCount > MaxExperts)
            throw new ArgumentOutOfRangeException(nameof(expertCount), expertCount, $"The number of experts must be between 2 and {MaxExperts}.");
        if (expertWidth < 1 || expertWidth > MaxExpertWidth)
            throw new ArgumentOutOfRangeException(nameof(expertWidth), expertWidth, $"Expert width must be between 1 and {MaxExpertWidth}.");
        if (topK < 1 || topK > expertCount)
            throw new ArgumentOutOfRangeException(nameof(topK), topK, "Top-k must be between 1 and the number of experts.");
        if (!Enum.IsDefined(gating))
            throw new ArgumentOutOfRangeException(nameof(gating), gating, "Unknown gating.");
    }
}
