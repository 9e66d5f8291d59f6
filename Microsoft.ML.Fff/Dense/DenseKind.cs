using System;
using Microsoft.ML.Fff.Dense;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.Scoring;

[assembly: NetworkKind(typeof(DenseKind))]

namespace Microsoft.ML.Fff.Dense;

/// <summary>The dense multi-layer perceptron (kind 1).</summary>
internal sealed class DenseKind : NetworkKindDescriptor
{
    public override NetworkKind Kind => NetworkKind.Dense;

    public override Type NetworkType => typeof(DenseNetwork);

    public override FffArchitecture Family => FffArchitecture.Dense;

    public override FeedForwardNetwork ReadPayload(PayloadReader payload, uint formatVersion) => DenseNetwork.LoadPayload(payload);
}
