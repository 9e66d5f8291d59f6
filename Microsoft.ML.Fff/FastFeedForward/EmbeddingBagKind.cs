using System;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.Scoring;

[assembly: NetworkKind(typeof(EmbeddingBagKind))]

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>A learned token embedding table feeding a fast feedforward head (kind 4): the head's shape and soft function.</summary>
internal sealed class EmbeddingBagKind : NetworkKindDescriptor
{
    public override NetworkKind Kind => NetworkKind.EmbeddingBag;

    public override Type NetworkType => typeof(EmbeddingBagNetwork);

    public override FffArchitecture Family => FffArchitecture.FastFeedForward;

    public override FeedForwardNetwork ReadPayload(PayloadReader payload, uint formatVersion) => EmbeddingBagNetwork.LoadPayload(payload);

    public override int Depth(FeedForwardNetwork network) => HeadKind(network, out FeedForwardNetwork head).Depth(head);

    public override int LeafWidth(FeedForwardNetwork network) => HeadKind(network, out FeedForwardNetwork head).LeafWidth(head);

    /// <summary>The head's soft function on the summed embedding; null when the head has none.</summary>
    public override ISoftScorer? CreateSoftScorer(FeedForwardNetwork network)
    {
        var bag = (EmbeddingBagNetwork)network;
        ISoftScorer? head = NetworkKinds.Of(bag.Head).CreateSoftScorer(bag.Head);
        return head is null ? null : new SoftScorer(bag, head);
    }

    private static NetworkKindDescriptor HeadKind(FeedForwardNetwork network, out FeedForwardNetwork head)
    {
        head = ((EmbeddingBagNetwork)network).Head;
        return NetworkKinds.Of(head);
    }

    private sealed class SoftScorer : ISoftScorer
    {
        private readonly EmbeddingBagNetwork _bag;
        private readonly ISoftScorer _head;
        private readonly float[] _embedded;

        public SoftScorer(EmbeddingBagNetwork bag, ISoftScorer head)
        {
            _bag = bag;
            _head = head;
            _embedded = new float[bag.Dimension];
        }

        public void ScoreSoft(ReadOnlySpan<float> features, Span<float> output)
        {
            _bag.Embed(features, _embedded);
            _head.ScoreSoft(_embedded, output);
        }
    }
}
