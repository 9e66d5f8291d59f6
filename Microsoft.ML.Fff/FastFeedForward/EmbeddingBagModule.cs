using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>
/// The trainable embedding bag on TorchSharp: <c>x @ E</c> (a sparse COO batch times the table is exactly a weighted bag of
/// embedding rows; a dense batch is the same product) feeding the FFF head's own module, which does everything else
/// (soft/hard forward, penalties, stages).
/// </summary>
internal sealed class EmbeddingBagModule : FeedForwardModule
{
    private readonly Parameter embedding;
    private readonly FeedForwardModule head;

    public EmbeddingBagModule(int inputs, int dimension, FeedForwardModule head, Device device) : base("EmbeddingBag")
    {
        embedding = nn.Parameter(zeros(inputs, dimension, device: device));
        this.head = head;
        RegisterComponents();
    }

    /// <summary>The FFF module on the embeddings.</summary>
    public FeedForwardModule Head => head;

    /// <summary>The summed embeddings of a batch: <c>[B, d]</c>.</summary>
    public Tensor Embed(Tensor input) => NarrowProducts.Multiply(input, embedding);

    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return head.forward(Embed(input)).MoveToOuterDisposeScope();
    }

    public override StepOutput TrainingForward(Tensor input, StepContext context) => head.TrainingForward(Embed(input), context);

    /// <summary>The table trains in every stage (the hard fine-tune stage trains the served function either way); the head decides for its own parameters.</summary>
    public override IEnumerable<Parameter> ParametersFor(PhasePlan phase) => head.ParametersFor(phase).Prepend(embedding);

    private protected override IEnumerable<WeightBinding> Bindings(FeedForwardNetwork network)
        => new[] { new WeightBinding(embedding, ((EmbeddingBagNetwork)network).Embeddings) };

    /// <summary>The table, then the head's own weights.</summary>
    public override void Import(FeedForwardNetwork network)
    {
        base.Import(network);
        head.Import(((EmbeddingBagNetwork)network).Head);
    }

    /// <summary>The table, then the head's own weights.</summary>
    public override void Export(FeedForwardNetwork network)
    {
        base.Export(network);
        head.Export(((EmbeddingBagNetwork)network).Head);
    }
}
