using System;

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>What the nodes of an FFF tree are.</summary>
public enum FffNodeKind
{
    /// <summary>Routing neurons with a two-layer MLP in every leaf (Belcak &amp; Wattenhofer): a row uses <c>Depth</c> routing neurons and one leaf of <c>LeafWidth</c> neurons.</summary>
    Leaves,
    /// <summary>
    /// Every node is a neuron and there are no leaves (UltraFastBERT): <c>NumberOfTrees</c> trees of <c>Depth + 1</c> levels; a row
    /// sums the outputs of the <c>Depth + 1</c> neurons on its path in every tree. <c>LeafWidth</c> and the leaf-only options are ignored.
    /// </summary>
    Neurons,
}

/// <summary>Options shared by the binary, multiclass and regression FFF trainers.</summary>
public abstract class FastFeedForwardOptionsBase : FeedForwardOptionsBase
{

    /// <summary>Depth of the node tree; the layer has <c>2^Depth</c> leaves. Default <see cref="FffDefaults.Depth"/>; range 0 .. <see cref="FffDefaults.MaxDepth"/> (0 is a plain two-layer MLP).</summary>
    public int Depth { get; set; } = FffDefaults.Depth;

    /// <summary>Neurons per leaf. Default <see cref="FffDefaults.LeafWidth"/>; range 1 .. <see cref="FffDefaults.MaxLeafWidth"/>.</summary>
    public int LeafWidth { get; set; } = FffDefaults.LeafWidth;

    /// <summary>Final weight <c>h</c> of the hardening loss (mean Bernoulli entropy of the node decisions). Default <see cref="FffDefaults.HardeningWeight"/>; finite and at least 0.</summary>
    public float HardeningWeight { get; set; } = FffDefaults.HardeningWeight;

    /// <summary>How the hardening weight evolves. Default <see cref="FffHardeningSchedule.Linear"/>.</summary>
    public FffHardeningSchedule HardeningSchedule { get; set; } = FffHardeningSchedule.Linear;

    /// <summary>Region leak: during soft training, the probability that a node decision is flipped for a sample. Default 0; range [0, 0.5).</summary>
    public float RegionLeak { get; set; }

    /// <summary>
    /// Fraction of <see cref="FeedForwardOptionsBase.NumberOfEpochs"/> spent, after soft training, training the leaves under hard routing with the
    /// nodes frozen: the network then trains exactly the function it will compute at inference, which closes the soft/hard gap.
    /// Default <see cref="FffDefaults.HardFineTuneFraction"/>; range [0, 1).
    /// </summary>
    public float HardFineTuneFraction { get; set; } = FffDefaults.HardFineTuneFraction;

    /// <summary>
    /// Width of the master leaf: a small always-on ReLU MLP whose output is mixed with the FFF's, <c>k * FFF(x) + (1 - k) * master(x)</c>
    /// with <c>k = sigmoid(kappa)</c> and <c>kappa</c> trained; it is used in training and inference. Default
    /// <see cref="FffDefaults.MasterLeafWidth"/>; range 0 (none) .. <see cref="FffDefaults.MaxLeafWidth"/>.
    /// </summary>
    public int MasterLeafWidth { get; set; } = FffDefaults.MasterLeafWidth;

    /// <summary>
    /// Weight <c>a</c> of the load-balancing loss <c>N * sum_j f_j P_j</c> (<c>f_j</c>: fraction of the batch that hard descent sends to
    /// leaf j, <c>P_j</c>: mean soft probability of leaf j), applied during the first <see cref="LoadBalancingFraction"/> of the soft epochs.
    /// Default <see cref="FffDefaults.LoadBalancingWeight"/>; finite and at least 0 (0 turns it off).
    /// </summary>
    public float LoadBalancingWeight { get; set; } = FffDefaults.LoadBalancingWeight;

    /// <summary>
    /// Fraction of the soft-training epochs with the load-balancing loss on (the first phase); with
    /// <see cref="FffHardeningSchedule.TwoPhase"/> it also ends the weaker-hardening phase. Default
    /// <see cref="FffDefaults.LoadBalancingFraction"/>; range [0, 1].
    /// </summary>
    public float LoadBalancingFraction { get; set; } = FffDefaults.LoadBalancingFraction;

    /// <summary>
    /// Knowledge distillation: when greater than 0, the trainer first trains a dense teacher (one ReLU hidden layer of this
    /// width, the same epochs, batch size, learning rate and regularization), then trains the FFF on a mix of the labels and
    /// the teacher's softened predictions (see <see cref="DistillationWeight"/>). The teacher is discarded; the model is the
    /// FFF alone. It roughly doubles training time; the training data must fit in memory (<c>InMemoryLimitMegabytes</c>).
    /// Default 0 (off); range 0 .. 65536.
    /// </summary>
    public int DistillationTeacherWidth { get; set; }

    /// <summary>
    /// Weight <c>a</c> of the teacher term: the loss is <c>(1 - a) * loss(label) + a * T^2 * KL(teacher_T || student_T)</c> for
    /// classification (<c>T</c> = <see cref="DistillationTemperature"/>) and <c>(1 - a) * (y - label)^2 + a * (y - teacher)^2</c>
    /// for regression. Default <see cref="FffDefaults.DistillationWeight"/>; range [0, 1].
    /// </summary>
    public float DistillationWeight { get; set; } = FffDefaults.DistillationWeight;

    /// <summary>Temperature <c>T</c> that softens teacher and student outputs in the distillation term. Default <see cref="FffDefaults.DistillationTemperature"/>; finite, at least 1.</summary>
    public float DistillationTemperature { get; set; } = FffDefaults.DistillationTemperature;

    /// <summary>
    /// Self-distillation in the hard fine-tune phase: the network's own soft predictions at the end of the soft phase become a
    /// second target with this weight (temperature <see cref="DistillationTemperature"/>), so hard descent learns the soft
    /// function, including near region boundaries where the soft mixing of two leaves is better than either leaf. This is
    /// what narrows the soft/hard gap. The training data must fit in memory. Default
    /// <see cref="FffDefaults.FineTuneSoftTargetWeight"/>; range [0, 1].
    /// </summary>
    public float FineTuneSoftTargetWeight { get; set; } = FffDefaults.FineTuneSoftTargetWeight;

    /// <summary>What the tree's nodes are. Default <see cref="FffNodeKind.Leaves"/>.</summary>
    public FffNodeKind NodeKind { get; set; } = FffNodeKind.Leaves;

    /// <summary>With <see cref="FffNodeKind.Neurons"/>: number of parallel trees. Default 1; range 1 .. 1024.</summary>
    public int NumberOfTrees { get; set; } = 1;

    /// <summary>
    /// With <see cref="FffNodeKind.Leaves"/>: number of independent leaf FFFs (each its own tree, leaves and master leaf, with its
    /// own initialization) trained together on the same batches; a scored row descends every one by hard descent and the output
    /// is the mean of their outputs (probabilities are computed from the mean raw score). The training loss is the mean of the
    /// members' losses, so each member is trained to predict on its own. Each scored row costs
    /// <c>EnsembleSize x (Depth + LeafWidth + MasterLeafWidth)</c> neurons, and training costs about <c>EnsembleSize</c> times as
    /// much per epoch. With 1 the model and its file are exactly the single FFF. Default 1; range 1 .. 64. Not with
    /// <see cref="FffNodeKind.Neurons"/>, whose <see cref="NumberOfTrees"/> already sums parallel trees.
    /// </summary>
    public int EnsembleSize { get; set; } = 1;

    /// <summary>
    /// Learned embedding bag: when greater than 0, the features first go through a trained table of one
    /// <c>EmbeddingDimension</c>-wide row per feature slot (the row's values weight the table's rows and are summed; fed the mean
    /// bag of tokens from <c>mlContext.Fff().TokenizeToBag</c>, that is the mean token embedding), and the FFF works on that
    /// vector. Scoring a sparse row costs one <c>d</c>-wide multiply-add per non-zero slot plus the FFF on <c>d</c> inputs. It
    /// replaces the FFF's <c>slots x training width</c> first layer by <c>slots x d + d x training width</c> weights, which is what
    /// makes wide text vocabularies cheap to train. Default 0 (off); range 0 .. 4096.
    /// </summary>
    public int EmbeddingDimension { get; set; }

    internal override void Validate()
    {
        base.Validate();
        Check(Depth >= 0 && Depth <= FffDefaults.MaxDepth, nameof(Depth), Depth, $"must be between 0 and {FffDefaults.MaxDepth}");
        Check(LeafWidth >= 1 && LeafWidth <= FffDefaults.MaxLeafWidth, nameof(LeafWidth), LeafWidth, $"must be between 1 and {FffDefaults.MaxLeafWidth}");
        Check(float.IsFinite(HardeningWeight) && HardeningWeight >= 0, nameof(HardeningWeight), HardeningWeight, "must be finite and at least 0");
        Check(RegionLeak >= 0 && RegionLeak < 0.5f, nameof(RegionLeak), RegionLeak, "must be in [0, 0.5)");
        Check(HardFineTuneFraction >= 0 && HardFineTuneFraction < 1, nameof(HardFineTuneFraction), HardFineTuneFraction, "must be in [0, 1)");
        Check(Enum.IsDefined(HardeningSchedule), nameof(HardeningSchedule), HardeningSchedule, "is not a defined value");
        Check(MasterLeafWidth >= 0 && MasterLeafWidth <= FffDefaults.MaxLeafWidth, nameof(MasterLeafWidth), MasterLeafWidth, $"must be between 0 and {FffDefaults.MaxLeafWidth}");
        Check(float.IsFinite(LoadBalancingWeight) && LoadBalancingWeight >= 0, nameof(LoadBalancingWeight), LoadBalancingWeight, "must be finite and at least 0");
        Check(LoadBalancingFraction >= 0 && LoadBalancingFraction <= 1, nameof(LoadBalancingFraction), LoadBalancingFraction, "must be in [0, 1]");
        Check(Enum.IsDefined(NodeKind), nameof(NodeKind), NodeKind, "is not a defined value");
        Check(DistillationTeacherWidth >= 0 && DistillationTeacherWidth <= 65536, nameof(DistillationTeacherWidth), DistillationTeacherWidth, "must be between 0 and 65536");
        Check(FineTuneSoftTargetWeight >= 0 && FineTuneSoftTargetWeight <= 1, nameof(FineTuneSoftTargetWeight), FineTuneSoftTargetWeight, "must be in [0, 1]");
        Check(DistillationWeight >= 0 && DistillationWeight <= 1, nameof(DistillationWeight), DistillationWeight, "must be in [0, 1]");
        Check(float.IsFinite(DistillationTemperature) && DistillationTemperature >= 1, nameof(DistillationTemperature), DistillationTemperature, "must be finite and at least 1");
        Check(NumberOfTrees >= 1 && NumberOfTrees <= 1024, nameof(NumberOfTrees), NumberOfTrees, "must be between 1 and 1024");
        Check(EnsembleSize >= 1 && EnsembleSize <= LeafTreeEnsembleNetwork.MaxTrainedMembers, nameof(EnsembleSize), EnsembleSize,
            $"must be between 1 and {LeafTreeEnsembleNetwork.MaxTrainedMembers}");
        Check(EnsembleSize == 1 || NodeKind == FffNodeKind.Leaves, nameof(EnsembleSize), EnsembleSize,
            $"must be 1 with NodeKind {NodeKind}; for parallel neuron trees set NumberOfTrees instead");
        Check(EmbeddingDimension >= 0 && EmbeddingDimension <= EmbeddingBagNetwork.MaxDimension, nameof(EmbeddingDimension), EmbeddingDimension,
            $"must be between 0 (off) and {EmbeddingBagNetwork.MaxDimension}");
    }
}
