using System;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.Scoring;

[assembly: NetworkKind(typeof(FastFeedForwardKind))]

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>The fast feedforward network with leaves (kind 0): hard descent to one leaf, a soft mixture in training.</summary>
internal sealed class FastFeedForwardKind : NetworkKindDescriptor
{
    public override NetworkKind Kind => NetworkKind.FastFeedForward;

    public override Type NetworkType => typeof(FastFeedForwardNetwork);

    public override FffArchitecture Family => FffArchitecture.FastFeedForward;

    /// <summary>Format 0x00010001 stored this kind without the master leaf.</summary>
    public override FeedForwardNetwork ReadPayload(PayloadReader payload, uint formatVersion)
        => FastFeedForwardNetwork.LoadPayload(payload, withMasterLeaf: formatVersion >= ModelFormat.KindCodeVersion);

    public override int Depth(FeedForwardNetwork network) => ((FastFeedForwardNetwork)network).Depth;

    public override int LeafWidth(FeedForwardNetwork network) => ((FastFeedForwardNetwork)network).LeafWidth;

    public override ISoftScorer CreateSoftScorer(FeedForwardNetwork network) => new SoftScorer((FastFeedForwardNetwork)network);

    private sealed class SoftScorer : ISoftScorer
    {
        private readonly FastFeedForwardNetwork _network;
        private readonly float[] _scratch;

        public SoftScorer(FastFeedForwardNetwork network)
        {
            _network = network;
            _scratch = new float[2 * network.LeafCount];
        }

        public void ScoreSoft(ReadOnlySpan<float> features, Span<float> output) => _network.ScoreSoft(features, output, _scratch);
    }
}
