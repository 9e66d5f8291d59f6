using System;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.Scoring;

namespace Microsoft.ML.Fff;

/// <summary>What the batch-scoring data view needs from any of the three model parameter classes, without their output type.</summary>
internal interface IFffScoringModel
{
    /// <summary>The network (input and output counts).</summary>
    FeedForwardNetwork Network { get; }

    /// <summary>Score column values of a batch of dense rows (see <see cref="FffModelParametersBase{TOutput}.ScoreBatch"/>).</summary>
    void ScoreBatch(ReadOnlySpan<float> features, Span<float> scores);

    /// <summary>Score column values of one row, dense or sparse; throws when the vector has the wrong length.</summary>
    void ScoreRow(in VBuffer<float> features, Span<float> scores);
}
