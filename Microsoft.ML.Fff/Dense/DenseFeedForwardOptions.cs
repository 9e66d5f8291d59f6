using System;
using System.Linq;

namespace Microsoft.ML.Fff.Dense;

/// <summary>Activation of the hidden layers of a dense network. The stored code of each value is its number.</summary>
public enum DenseActivation
{
    /// <summary>Rectified linear unit, <c>max(0, x)</c>.</summary>
    ReLU = 0,
    /// <summary>Gaussian error linear unit in its tanh approximation, <c>0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))</c>.</summary>
    Gelu = 1,
    /// <summary>Hyperbolic tangent.</summary>
    Tanh = 2,
}

/// <summary>Default values and limits of the dense trainers' own options.</summary>
public static class DenseFeedForwardDefaults
{
    /// <summary>Default width of the single hidden layer (<see cref="DenseFeedForwardOptionsBase.HiddenLayerWidths"/> is <c>{ 256 }</c>).</summary>
    public const int HiddenLayerWidth = 256;

    /// <summary>Largest width of a hidden layer.</summary>
    public const int MaxHiddenLayerWidth = 65536;

    /// <summary>Largest number of hidden layers.</summary>
    public const int MaxHiddenLayers = 16;

    /// <summary>Default activation of the hidden layers.</summary>
    public const DenseActivation Activation = DenseActivation.ReLU;

    /// <summary>Default dropout rate (0: no dropout).</summary>
    public const float DropoutRate = 0f;
}

/// <summary>Options shared by the binary, multiclass and regression dense trainers.</summary>
public abstract class DenseFeedForwardOptionsBase : FeedForwardOptionsBase
{
    /// <summary>
    /// Widths of the hidden layers, from the input side. Default <c>{ <see cref="DenseFeedForwardDefaults.HiddenLayerWidth"/> }</c>
    /// (one layer of 256 neurons); 1 .. <see cref="DenseFeedForwardDefaults.MaxHiddenLayers"/> layers, each of 1 ..
    /// <see cref="DenseFeedForwardDefaults.MaxHiddenLayerWidth"/> neurons. The trainer copies the array when it trains.
    /// </summary>
    public int[] HiddenLayerWidths { get; set; } = { DenseFeedForwardDefaults.HiddenLayerWidth };

    /// <summary>Activation of every hidden layer. Default <see cref="DenseActivation.ReLU"/>; any defined <see cref="DenseActivation"/>.</summary>
    public DenseActivation Activation { get; set; } = DenseFeedForwardDefaults.Activation;

    /// <summary>
    /// Probability that a hidden activation is zeroed in a training step (inverted dropout, after every hidden layer; scoring
    /// never drops). Default <see cref="DenseFeedForwardDefaults.DropoutRate"/>; range [0, 1).
    /// </summary>
    public float DropoutRate { get; set; } = DenseFeedForwardDefaults.DropoutRate;

    internal override void Validate()
    {
        base.Validate();
        int[]? widths = HiddenLayerWidths;
        Check(widths is { Length: >= 1 and <= DenseFeedForwardDefaults.MaxHiddenLayers }, nameof(HiddenLayerWidths),
            widths is null ? "null" : $"{widths.Length} layers", $"must list 1 to {DenseFeedForwardDefaults.MaxHiddenLayers} layer widths");
        Check(widths!.All(w => w >= 1 && w <= DenseFeedForwardDefaults.MaxHiddenLayerWidth), nameof(HiddenLayerWidths),
            string.Join(", ", widths!), $"must hold widths between 1 and {DenseFeedForwardDefaults.MaxHiddenLayerWidth}");
        Check(Enum.IsDefined(Activation), nameof(Activation), Activation, "is not a defined value");
        Check(DropoutRate >= 0 && DropoutRate < 1, nameof(DropoutRate), DropoutRate, "must be in [0, 1)");
    }
}
