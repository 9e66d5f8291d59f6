using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.ML.Fff.Dense;
using Microsoft.ML.Fff.MixtureOfExperts;

namespace Microsoft.ML.Fff.Sweeps;

/// <summary>
/// The options an <see cref="FffExperiment"/> samples from, per model kind, with defaults that suit small and medium tabular
/// data. Each list is a set of choices drawn uniformly; the learning rate is drawn log-uniformly from
/// [<see cref="MinLearningRate"/>, <see cref="MaxLearningRate"/>]; the number of epochs is the resource of successive halving
/// (<see cref="MinEpochs"/> .. <see cref="MaxEpochs"/>). The experiment validates it when it runs (every error names the option) and
/// never modifies it.
/// </summary>
public sealed class FffSearchSpace
{
    /// <summary>FFF tree depths. Default <c>{ 1, 2, 3, 4, 5 }</c>; each 0 .. <see cref="FffDefaults.MaxDepth"/>.</summary>
    public IReadOnlyList<int> Depths { get; set; } = new[] { 1, 2, 3, 4, 5 };

    /// <summary>FFF leaf widths. Default <c>{ 4, 8, 16, 32, 64 }</c>; each 1 .. <see cref="FffDefaults.MaxLeafWidth"/>.</summary>
    public IReadOnlyList<int> LeafWidths { get; set; } = new[] { 4, 8, 16, 32, 64 };

    /// <summary>FFF master-leaf widths (0: none). Default <c>{ 0, 8 }</c>; each 0 .. <see cref="FffDefaults.MaxLeafWidth"/>.</summary>
    public IReadOnlyList<int> MasterLeafWidths { get; set; } = new[] { 0, 8 };

    /// <summary>
    /// FFF leaf trees trained together and averaged (<see cref="FastFeedForward.FastFeedForwardOptionsBase.EnsembleSize"/>); a trial's
    /// neurons per row grow with it. Default <c>{ 1 }</c> (one tree; a single choice draws nothing, so a seed gives the same trials as
    /// before the option existed); each 1 .. 64.
    /// </summary>
    public IReadOnlyList<int> EnsembleSizes { get; set; } = new[] { 1 };

    /// <summary>Mixture-of-experts expert counts. Default <c>{ 4, 8, 16 }</c>; each <see cref="MixtureOfExpertsDefaults.MinExperts"/> .. <see cref="MixtureOfExpertsDefaults.MaxExperts"/>.</summary>
    public IReadOnlyList<int> NumberOfExperts { get; set; } = new[] { 4, 8, 16 };

    /// <summary>Mixture-of-experts expert widths. Default <c>{ 4, 8, 16, 32 }</c>; each 1 .. <see cref="MixtureOfExpertsDefaults.MaxExpertWidth"/>.</summary>
    public IReadOnlyList<int> ExpertWidths { get; set; } = new[] { 4, 8, 16, 32 };

    /// <summary>
    /// Experts per row (k). Default <c>{ 1, 2 }</c>; each at least 1. A draw only considers the values up to the drawn expert count, so
    /// at least one value must be at most the smallest of <see cref="NumberOfExperts"/>.
    /// </summary>
    public IReadOnlyList<int> TopK { get; set; } = new[] { 1, 2 };

    /// <summary>
    /// Dense hidden-layer shapes (each entry is one network's <c>HiddenLayerWidths</c>). Default one hidden layer of 8, 16, 32, 64, 128,
    /// 256 or 512 neurons; each 1 .. <see cref="DenseFeedForwardDefaults.MaxHiddenLayers"/> layers of 1 ..
    /// <see cref="DenseFeedForwardDefaults.MaxHiddenLayerWidth"/> neurons.
    /// </summary>
    public IReadOnlyList<int[]> DenseHiddenLayerWidths { get; set; } = new[] { 8, 16, 32, 64, 128, 256, 512 }.Select(w => new[] { w }).ToArray();

    /// <summary>Smallest learning rate (log-uniform draw). Default 1e-3; finite, greater than 0, at most <see cref="MaxLearningRate"/>.</summary>
    public float MinLearningRate { get; set; } = 1e-3f;

    /// <summary>Largest learning rate (log-uniform draw). Default 1e-2; finite and at least <see cref="MinLearningRate"/>.</summary>
    public float MaxLearningRate { get; set; } = 1e-2f;

    /// <summary>Mini-batch sizes. Default <c>{ 32, 64, 128 }</c>; each at least 1.</summary>
    public IReadOnlyList<int> BatchSizes { get; set; } = new[] { 32, 64, 128 };

    /// <summary>
    /// Epochs of the cheapest successive-halving rung. Default 5; at least 1 and at most <see cref="MaxEpochs"/>. Random search ignores it.
    /// </summary>
    public int MinEpochs { get; set; } = 5;

    /// <summary>Epochs of a fully trained configuration: the top successive-halving rung, and every random-search trial. Default <see cref="FffDefaults.NumberOfEpochs"/>; at least 1.</summary>
    public int MaxEpochs { get; set; } = FffDefaults.NumberOfEpochs;

    /// <summary>Throws <see cref="ArgumentException"/> or <see cref="ArgumentOutOfRangeException"/> naming the first invalid option among those the model kinds use.</summary>
    internal void Validate(IReadOnlyCollection<FffArchitecture> kinds)
    {
        foreach (TrainerFamily family in TrainerFamilies.All)
        {
            if (kinds.Contains(family.Architecture))
                family.Validate(this);
        }
        if (!(float.IsFinite(MinLearningRate) && MinLearningRate > 0))
            throw new ArgumentOutOfRangeException(nameof(MinLearningRate), MinLearningRate, $"Search space option {nameof(MinLearningRate)} must be finite and greater than 0; it is {MinLearningRate}.");
        if (!(float.IsFinite(MaxLearningRate) && MaxLearningRate >= MinLearningRate))
            throw new ArgumentOutOfRangeException(nameof(MaxLearningRate), MaxLearningRate, $"Search space option {nameof(MaxLearningRate)} must be finite and at least {nameof(MinLearningRate)} ({MinLearningRate}); it is {MaxLearningRate}.");
        CheckChoices(BatchSizes, nameof(BatchSizes), 1, int.MaxValue);
        if (MaxEpochs < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxEpochs), MaxEpochs, $"Search space option {nameof(MaxEpochs)} must be at least 1; it is {MaxEpochs}.");
        if (MinEpochs < 1 || MinEpochs > MaxEpochs)
            throw new ArgumentOutOfRangeException(nameof(MinEpochs), MinEpochs, $"Search space option {nameof(MinEpochs)} must be between 1 and {nameof(MaxEpochs)} ({MaxEpochs}); it is {MinEpochs}.");
    }

    /// <summary>Throws unless <paramref name="choices"/> is non-empty and every value is in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    internal static void CheckChoices(IReadOnlyList<int>? choices, string option, int min, int max)
    {
        if (choices is null || choices.Count == 0)
            throw new ArgumentException($"Search space option {option} must offer at least one choice.", option);
        foreach (int value in choices)
        {
            if (value < min || value > max)
                throw new ArgumentOutOfRangeException(option, value, $"Search space option {option} must hold values between {min} and {max}; it holds {value}.");
        }
    }

    /// <summary>A copy whose lists the caller can no longer change.</summary>
    internal FffSearchSpace Snapshot() => new()
    {
        Depths = Depths?.ToArray()!,
        LeafWidths = LeafWidths?.ToArray()!,
        MasterLeafWidths = MasterLeafWidths?.ToArray()!,
        EnsembleSizes = EnsembleSizes?.ToArray()!,
        NumberOfExperts = NumberOfExperts?.ToArray()!,
        ExpertWidths = ExpertWidths?.ToArray()!,
        TopK = TopK?.ToArray()!,
        DenseHiddenLayerWidths = DenseHiddenLayerWidths?.Select(w => w?.ToArray()!).ToArray()!,
        MinLearningRate = MinLearningRate,
        MaxLearningRate = MaxLearningRate,
        BatchSizes = BatchSizes?.ToArray()!,
        MinEpochs = MinEpochs,
        MaxEpochs = MaxEpochs,
    };
}

/// <summary>One configuration an <see cref="FffExperiment"/> trains: the model kind, its shape and the training settings.</summary>
public sealed class FffTrialConfiguration
{
    internal FffTrialConfiguration(FffArchitecture architecture, int numberOfEpochs, int batchSize, float learningRate, int seed)
    {
        Architecture = architecture;
        NumberOfEpochs = numberOfEpochs;
        BatchSize = batchSize;
        LearningRate = learningRate;
        Seed = seed;
    }

    /// <summary>The model kind.</summary>
    public FffArchitecture Architecture { get; }

    /// <summary>Epochs trained (the successive-halving resource).</summary>
    public int NumberOfEpochs { get; private set; }

    /// <summary>Mini-batch size.</summary>
    public int BatchSize { get; }

    /// <summary>Peak learning rate.</summary>
    public float LearningRate { get; }

    /// <summary>The trainer's seed (the same for a configuration at every rung).</summary>
    public int Seed { get; }

    /// <summary>FFF: tree depth; 0 for other kinds.</summary>
    public int Depth { get; internal init; }

    /// <summary>FFF: neurons per leaf; 0 for other kinds.</summary>
    public int LeafWidth { get; internal init; }

    /// <summary>FFF: master-leaf width (0: none); 0 for other kinds.</summary>
    public int MasterLeafWidth { get; internal init; }

    /// <summary>FFF: leaf trees averaged (1: a single tree); 1 for other kinds.</summary>
    public int EnsembleSize { get; internal init; } = 1;

    /// <summary>Mixture of experts: number of experts; 0 for other kinds.</summary>
    public int NumberOfExperts { get; internal init; }

    /// <summary>Mixture of experts: neurons per expert; 0 for other kinds.</summary>
    public int ExpertWidth { get; internal init; }

    /// <summary>Mixture of experts: experts per row; 0 for other kinds.</summary>
    public int TopK { get; internal init; }

    /// <summary>Dense: hidden-layer widths; empty for other kinds.</summary>
    public IReadOnlyList<int> HiddenLayerWidths { get; internal init; } = Array.Empty<int>();

    /// <summary>
    /// Neurons a scored row touches, known before training: <c>EnsembleSize x (Depth + LeafWidth + MasterLeafWidth)</c> (FFF),
    /// <c>NumberOfExperts + TopK * ExpertWidth</c> (mixture of experts), the sum of the hidden widths (dense).
    /// </summary>
    public int NeuronsPerRow => TrainerFamilies.Of(Architecture).NeuronsPerRow(this);

    /// <summary>The same configuration trained for another number of epochs (a successive-halving promotion).</summary>
    internal FffTrialConfiguration WithEpochs(int epochs)
    {
        var copy = (FffTrialConfiguration)MemberwiseClone();
        copy.NumberOfEpochs = epochs;
        return copy;
    }

    /// <summary>The model shape alone, e.g. <c>FFF depth 3 x leaf 16</c>, <c>MoE 8 experts x 16, top 2</c>, <c>Dense 256</c>.</summary>
    public string Shape => TrainerFamilies.Of(Architecture).Shape(this);

    /// <summary>The shape and the training settings in one line (invariant culture), e.g. <c>FFF depth 3 x leaf 16; lr 0.0031, batch 64, 20 epochs, seed 12</c>.</summary>
    public override string ToString()
        => string.Create(CultureInfo.InvariantCulture, $"{Shape}; lr {LearningRate:G3}, batch {BatchSize}, {NumberOfEpochs} epochs, seed {Seed}");
}

/// <summary>Draws configurations from a search space with a seeded generator: the same seed gives the same sequence.</summary>
internal sealed class ConfigurationSampler
{
    private const int MaxDraws = 10_000;
    private readonly FffSearchSpace _space;
    private readonly FffArchitecture[] _kinds;
    private readonly int? _maxNeuronsPerRow;
    private readonly Random _random;

    public ConfigurationSampler(FffSearchSpace space, IReadOnlyList<FffArchitecture> kinds, int? maxNeuronsPerRow, int seed)
    {
        _space = space;
        _kinds = kinds.ToArray();
        _maxNeuronsPerRow = maxNeuronsPerRow;
        _random = new Random(seed);
    }

    /// <summary>The next configuration with <paramref name="epochs"/> epochs that satisfies the neurons-per-row limit.</summary>
    public FffTrialConfiguration Next(int epochs)
    {
        for (int draw = 0; draw < MaxDraws; draw++)
        {
            FffTrialConfiguration configuration = Draw(epochs);
            if (_maxNeuronsPerRow is not int limit || configuration.NeuronsPerRow <= limit)
                return configuration;
        }
        throw new ArgumentOutOfRangeException("maxNeuronsPerRow", _maxNeuronsPerRow,
            $"No configuration of the search space for {string.Join(", ", _kinds)} touches at most {_maxNeuronsPerRow} neurons per row in {MaxDraws} draws; " +
            "raise the limit given to SetMaxNeuronsPerRow or offer smaller shapes in the search space.");
    }

    private FffTrialConfiguration Draw(int epochs)
    {
        FffArchitecture kind = _kinds[_random.Next(_kinds.Length)];
        int batchSize = Pick(_space.BatchSizes);
        double logMin = Math.Log(_space.MinLearningRate), logMax = Math.Log(_space.MaxLearningRate);
        float learningRate = (float)Math.Exp(logMin + _random.NextDouble() * (logMax - logMin));
        int seed = _random.Next();
        return TrainerFamilies.Of(kind).Draw(_space, _random, epochs, batchSize, learningRate, seed);
    }

    private T Pick<T>(IReadOnlyList<T> choices) => choices[_random.Next(choices.Count)];
}
