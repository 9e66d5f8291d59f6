using System;

namespace Microsoft.ML.Fff.MixtureOfExperts;

/// <summary>Default values and limits of the mixture-of-experts trainers' options and catalog overloads.</summary>
public static class MixtureOfExpertsDefaults
{
    /// <summary>Default number of experts.</summary>
    public const int NumberOfExperts = 16;

    /// <summary>Default number of hidden neurons per expert.</summary>
    public const int ExpertWidth = 32;

    /// <summary>Default number of experts that score each row.</summary>
    public const int TopK = 2;

    /// <summary>Default weight of the load-balancing loss (top-k softmax gating).</summary>
    public const float BalanceWeight = 0.01f;

    /// <summary>Default probability that an expert is dropped from a row's selection in training (sigma gating).</summary>
    public const float ExpertDropout = 0.05f;

    /// <summary>Default weight of the selection-entropy regulariser (sigma gating).</summary>
    public const float SelectionEntropyWeight = 1e-3f;

    /// <summary>Fewest experts the trainers accept.</summary>
    public const int MinExperts = 2;

    /// <summary>Most experts the trainers accept.</summary>
    public const int MaxExperts = MoeNetwork.MaxExperts;

    /// <summary>Largest expert width the trainers accept.</summary>
    public const int MaxExpertWidth = MoeNetwork.MaxExpertWidth;
}

/// <summary>Options shared by the binary, multiclass and regression mixture-of-experts trainers.</summary>
public abstract class MixtureOfExpertsOptionsBase : FeedForwardOptionsBase
{
    /// <summary>
    /// Number of experts <c>E</c>; each row is scored by <see cref="TopK"/> of them after <c>E</c> gate dot products.
    /// Default <see cref="MixtureOfExpertsDefaults.NumberOfExperts"/>; range <see cref="MixtureOfExpertsDefaults.MinExperts"/> ..
    /// <see cref="MixtureOfExpertsDefaults.MaxExperts"/>.
    /// </summary>
    public int NumberOfExperts { get; set; } = MixtureOfExpertsDefaults.NumberOfExperts;

    /// <summary>
    /// Hidden ReLU neurons per expert <c>G</c>. Default <see cref="MixtureOfExpertsDefaults.ExpertWidth"/>; range 1 ..
    /// <see cref="MixtureOfExpertsDefaults.MaxExpertWidth"/>.
    /// </summary>
    public int ExpertWidth { get; set; } = MixtureOfExpertsDefaults.ExpertWidth;

    /// <summary>
    /// Experts that score each row <c>k</c>: a scored row touches <c>NumberOfExperts + TopK * ExpertWidth</c> neurons.
    /// Default <see cref="MixtureOfExpertsDefaults.TopK"/>; range 1 .. <see cref="NumberOfExperts"/>. With top-k softmax gating and
    /// <c>TopK = 1</c> the chosen expert's weight is always 1, so only the load-balancing loss trains the gate.
    /// </summary>
    public int TopK { get; set; } = MixtureOfExpertsDefaults.TopK;

    /// <summary>How the gate picks and weighs the experts. Default <see cref="MoeGating.SoftmaxTopK"/>.</summary>
    public MoeGating Gating { get; set; } = MoeGating.SoftmaxTopK;

    /// <summary>
    /// With <see cref="MoeGating.SoftmaxTopK"/>: add trainable Gaussian noise <c>N(0, 1) * softplus(x W_noise)</c> to the gate
    /// logits in training (never in scoring). Default <c>true</c>; ignored by sigma gating.
    /// </summary>
    public bool NoisyGating { get; set; } = true;

    /// <summary>
    /// With <see cref="MoeGating.SoftmaxTopK"/>: weight of the Switch-style load-balancing loss <c>E * sum_e f_e P_e</c>
    /// (<c>f_e</c>: fraction of the batch's choices that go to expert e, <c>P_e</c>: mean gate softmax of e; 1 when balanced).
    /// Default <see cref="MixtureOfExpertsDefaults.BalanceWeight"/>; finite and at least 0 (0 turns it off); ignored by sigma gating.
    /// </summary>
    public float BalanceWeight { get; set; } = MixtureOfExpertsDefaults.BalanceWeight;

    /// <summary>
    /// With <see cref="MoeGating.Sigma"/>: probability that an expert is excluded from a row's top-k in training (never in
    /// scoring). Default <see cref="MixtureOfExpertsDefaults.ExpertDropout"/>; range [0, 1); ignored by top-k softmax gating.
    /// </summary>
    public float ExpertDropout { get; set; } = MixtureOfExpertsDefaults.ExpertDropout;

    /// <summary>
    /// With <see cref="MoeGating.Sigma"/>: weight of the regulariser <c>-H(mean over the batch of softmax(gate logits))</c>,
    /// which rewards using all experts on average. Default <see cref="MixtureOfExpertsDefaults.SelectionEntropyWeight"/>; finite and
    /// at least 0 (0 turns it off); ignored by top-k softmax gating.
    /// </summary>
    public float SelectionEntropyWeight { get; set; } = MixtureOfExpertsDefaults.SelectionEntropyWeight;

    internal override void Validate()
    {
        base.Validate();
        Check(NumberOfExperts >= MixtureOfExpertsDefaults.MinExperts && NumberOfExperts <= MixtureOfExpertsDefaults.MaxExperts, nameof(NumberOfExperts), NumberOfExperts,
            $"must be between {MixtureOfExpertsDefaults.MinExperts} and {MixtureOfExpertsDefaults.MaxExperts}");
        Check(ExpertWidth >= 1 && ExpertWidth <= MixtureOfExpertsDefaults.MaxExpertWidth, nameof(ExpertWidth), ExpertWidth,
            $"must be between 1 and {MixtureOfExpertsDefaults.MaxExpertWidth}");
        Check(TopK >= 1 && TopK <= NumberOfExperts, nameof(TopK), TopK, $"must be between 1 and NumberOfExperts ({NumberOfExperts})");
        Check(Enum.IsDefined(Gating), nameof(Gating), Gating, "is not a defined value");
        Check(float.IsFinite(BalanceWeight) && BalanceWeight >= 0, nameof(BalanceWeight), BalanceWeight, "must be finite and at least 0");
        Check(ExpertDropout >= 0 && ExpertDropout < 1, nameof(ExpertDropout), ExpertDropout, "must be in [0, 1)");
        Check(float.IsFinite(SelectionEntropyWeight) && SelectionEntropyWeight >= 0, nameof(SelectionEntropyWeight), SelectionEntropyWeight, "must be finite and at least 0");
        // The model stores at most int.MaxValue weights per array; checked again, with the feature count, when training starts.
        Check((long)NumberOfExperts * ExpertWidth <= 1 << 28, nameof(ExpertWidth), ExpertWidth, "times NumberOfExperts must be at most 2^28");
    }
}
