using System;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.MixtureOfExperts;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.Scoring;

[assembly: NetworkKind(typeof(MixtureOfExpertsKind))]

namespace Microsoft.ML.Fff.MixtureOfExperts;

/// <summary>The mixture of experts (kind 2).</summary>
internal sealed class MixtureOfExpertsKind : NetworkKindDescriptor
{
    public override NetworkKind Kind => NetworkKind.MixtureOfExperts;

    public override Type NetworkType => typeof(MoeNetwork);

    public override FffArchitecture Family => FffArchitecture.MixtureOfExperts;

    public override FeedForwardNetwork ReadPayload(PayloadReader payload, uint formatVersion) => MoeNetwork.LoadPayload(payload);
}
