using System;
using System.Collections.Generic;
using System.IO;
using System.Numerics.Tensors;
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
internal sealed class MoeNetwork : FeedForwardNetwork
{
    /// <summary>Largest number of experts a stored model may declare (also the trainers' limit).</summary>
    public const int MaxExperts = 4096;

    /// <summary>Largest expert width a stored model may declare (also the trainers' limit).</summary>
    public const int MaxExpertWidth = 1 << 16;

    // Per-row scratch up to these sizes lives on the stack; larger comes from ThreadScratch (no allocation once warm).
    private const int StackFloats = 512;
    private const int StackInts = 256;

    public MoeNetwork(int inputCount, int outputCount, int expertCount, int expertWidth, int topK, MoeGating gating)
        : base(inputCount, outputCount)
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

    public override NetworkKind Kind => NetworkKind.MixtureOfExperts;

    public override int TrainingWidth => ExpertCount * ExpertWidth;

    public override int NeuronsPerRow => ExpertCount + TopK * ExpertWidth;

    public override string Describe()
        => $"MoE {ExpertCount} experts x {ExpertWidth}, top-{TopK} {(Gating == MoeGating.Sigma ? "sigma" : "softmax")}";

    public override void Score(ReadOnlySpan<float> features, Span<float> output) => Score(new DenseRow(features), output);

    public override void Score(ReadOnlySpan<int> indices, ReadOnlySpan<float> values, Span<float> output) => Score(new SparseRow(indices, values), output);

    /// <summary>
    /// The experts a dense row is scored by, best first, into <paramref name="experts"/> (length <see cref="TopK"/>), and
    /// their weights into <paramref name="weights"/>. Returns false (and fills nothing) when a gate logit is NaN.
    /// </summary>
    public bool SelectExperts(ReadOnlySpan<float> features, Span<int> experts, Span<float> weights)
    {
        Span<float> logits = ExpertCount <= StackFloats ? stackalloc float[StackFloats] : ThreadScratch.Floats(ExpertCount);
        return Select(new DenseRow(features), logits.Slice(0, ExpertCount), experts.Slice(0, TopK), weights.Slice(0, TopK));
    }

    private void Score<TRow>(TRow row, Span<float> output) where TRow : IFeatureRow, allows ref struct
    {
        int experts = ExpertCount, k = TopK;
        // Scratch: E gate logits and k weights (floats), k chosen experts (ints); on the stack unless the gate is large.
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
        for (int j = 0; j < k; j++)
            AddExpert(row, top[j], weights[j], result);
    }

    /// <summary>
    /// Gate logits, top-k (ties to the lower index, best first) and the chosen experts' weights. False when a logit is NaN.
    /// </summary>
    private bool Select<TRow>(TRow row, Span<float> logits, Span<int> top, Span<float> weights) where TRow : IFeatureRow, allows ref struct
    {
        int inputs = InputCount, experts = ExpertCount, k = TopK;
        for (int e = 0; e < experts; e++)
        {
            float z = row.Dot(GateWeights.AsSpan(e * inputs, inputs)) + GateBiases[e];
            if (float.IsNaN(z))
                return false;
            logits[e] = z;
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

    /// <summary>Adds <c>weight * ReLU(x K_e + b_e) V_e</c> of expert <paramref name="expert"/> to <paramref name="result"/>.</summary>
    private void AddExpert<TRow>(TRow row, int expert, float weight, Span<float> result) where TRow : IFeatureRow, allows ref struct
    {
        int inputs = InputCount, outputs = OutputCount;
        int first = expert * ExpertWidth, end = first + ExpertWidth;
        for (int unit = first; unit < end; unit++)
        {
            float h = row.Dot(HiddenWeights.AsSpan(unit * inputs, inputs)) + HiddenBiases[unit];
            // ReLU; written as !(h <= 0) so a NaN activation reaches the output instead of vanishing.
            if (!(h <= 0))
                TensorPrimitives.MultiplyAdd(OutputWeights.AsSpan(unit * outputs, outputs), h * weight, result, result);
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
            for (int unit = e * width; unit < (e + 1) * width; unit++)
            {
                double h = RowBound(HiddenWeights.AsSpan(unit * inputs, inputs), HiddenBiases[unit]);
                bound = Math.Max(bound, h);
                ReadOnlySpan<float> v = OutputWeights.AsSpan(unit * outputs, outputs);
                for (int o = 0; o < outputs; o++)
                    perOutput[o] += h * Math.Abs((double)v[o]);
            }
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

    // *** Binary format of the mixture-of-experts payload (after the network kind code 2, see FeedForwardNetwork) ***
    // int32  input count I            (1 .. 2^28)
    // int32  output count O           (1 .. 2^20)
    // int32  expert count E           (2 .. MaxExperts = 4096)
    // int32  expert width G           (1 .. MaxExpertWidth = 2^16)
    // int32  top k                    (1 .. E)
    // int32  gating                   (MoeGating: 0 = top-k softmax, 1 = sigma)
    // int32  activation               (0 = ReLU; the only value so far)
    // then six float arrays, each as int32 count followed by count float32 values, in this order and with these counts:
    //   gate weights E * I, gate biases E, hidden weights E * G * I, hidden biases E * G, output weights E * G * O,
    //   output bias O.
    // Version history: introduced with model format 0x00010002 (the first with a network kind code); no change since.
    // Readers older than that format reject kind 2 as an unknown network kind.

    protected override void SavePayload(BinaryWriter writer)
    {
        writer.Write(InputCount);
        writer.Write(OutputCount);
        writer.Write(ExpertCount);
        writer.Write(ExpertWidth);
        writer.Write(TopK);
        writer.Write((int)Gating);
        writer.Write(0);
        foreach (float[] array in Arrays)
            WriteArray(writer, array);
    }

    /// <summary>Reads the mixture-of-experts payload, checking every shape field against its range and the bytes there before allocating.</summary>
    internal static MoeNetwork LoadPayload(PayloadReader payload)
    {
        if (payload.ByteCount < 7 * sizeof(int))
            throw Corrupt($"the model block holds {payload.ByteCount} bytes, fewer than the {7 * sizeof(int)} bytes of the mixture-of-experts shape fields.");
        int inputCount = payload.ReadInt32();
        int outputCount = payload.ReadInt32();
        int experts = payload.ReadInt32();
        int width = payload.ReadInt32();
        int topK = payload.ReadInt32();
        int gating = payload.ReadInt32();
        int activation = payload.ReadInt32();
        if (inputCount < 1 || inputCount > (1 << 28) || outputCount < 1 || outputCount > (1 << 20)
            || experts < 2 || experts > MaxExperts || width < 1 || width > MaxExpertWidth || topK < 1 || topK > experts)
        {
            throw Corrupt($"mixture-of-experts shape (inputs {inputCount}, outputs {outputCount}, experts {experts}, expert width {width}, top-k {topK}) is out of range.");
        }
        if (gating is not ((int)MoeGating.SoftmaxTopK or (int)MoeGating.Sigma))
            throw Corrupt($"unknown gating code {gating}.");
        if (activation != 0)
            throw Corrupt($"unknown activation code {activation}.");

        long units = (long)experts * width;
        long floats = experts * (inputCount + 1L) + units * (inputCount + 1L + outputCount) + outputCount;
        if (floats > int.MaxValue || units * inputCount > int.MaxValue || units * outputCount > int.MaxValue)
            throw Corrupt("the declared shape needs more weights than one array can hold.");
        string shape = $"inputs {inputCount}, outputs {outputCount}, experts {experts}, expert width {width}, top-k {topK}";
        payload.Require(6 * sizeof(int) + floats * sizeof(float), shape, last: true);

        var network = new MoeNetwork(inputCount, outputCount, experts, width, topK, (MoeGating)gating);
        ReadArray(payload.Reader, network.GateWeights, "gate weights");
        ReadArray(payload.Reader, network.GateBiases, "gate biases");
        ReadArray(payload.Reader, network.HiddenWeights, "expert hidden weights");
        ReadArray(payload.Reader, network.HiddenBiases, "expert hidden biases");
        ReadArray(payload.Reader, network.OutputWeights, "expert output weights");
        ReadArray(payload.Reader, network.OutputBias, "output bias");
        return network;
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
