using Microsoft.ML.Fff.Kinds;

namespace Microsoft.ML.Fff.Scoring;

// The kind of a network comes from its registered descriptor, so the scoring room never lists kinds.
internal abstract partial class FeedForwardNetwork
{
    /// <summary>Which kind this network is, as stored in the model file.</summary>
    public NetworkKind Kind => NetworkKinds.Of(this).Kind;
}
