namespace Microsoft.ML.Fff.Kinds;

/// <summary>
/// The kind codes stored in model files (format 0x00010002 and later), one line per registered kind. A code is never
/// reused; each kind's descriptor (<see cref="NetworkKindDescriptor"/>) returns its own.
/// </summary>
internal enum NetworkKind
{
    /// <summary>Fast feedforward layer with leaves (FastFeedForward/FastFeedForwardKind.cs).</summary>
    FastFeedForward = 0,
    /// <summary>Dense multi-layer perceptron (Dense/DenseKind.cs).</summary>
    Dense = 1,
    /// <summary>Mixture of experts (MixtureOfExperts/MixtureOfExpertsKind.cs).</summary>
    MixtureOfExperts = 2,
    /// <summary>Fast feedforward with neuron nodes: K parallel trees, no leaves (FastFeedForward/NeuronTreeKind.cs).</summary>
    NeuronTree = 3,
    /// <summary>A learned token embedding table feeding a fast feedforward head (FastFeedForward/EmbeddingBagKind.cs).</summary>
    EmbeddingBag = 4,
    /// <summary>A per-feature input stage (quantile or robust scaling, numerical embeddings) in front of a network of any other kind (InputStages/InputStageCodec.cs); format 0x00010003.</summary>
    InputStage = 5,
    /// <summary>K leaf FFFs of one shape whose outputs are averaged (FastFeedForward/LeafTreeEnsembleNetwork.cs, LeafTreeEnsembleKind).</summary>
    LeafTreeEnsemble = 6,
    /// <summary>A network of any other kind plus output offsets for rows repeated from training (RepeatedRows/RepeatedRowCodec.cs); format 0x00010006.</summary>
    RepeatedRows = 7,
}
