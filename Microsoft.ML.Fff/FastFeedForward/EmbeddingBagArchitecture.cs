using System;
using System.Collections.Generic;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>
/// An FFF (either node kind) on a learned embedding of the features (<c>EmbeddingDimension</c> &gt; 0): the table and the head
/// train together, in the head's stages.
/// </summary>
internal sealed class EmbeddingBagArchitecture : NetworkArchitecture
{
    private readonly NetworkArchitecture _head;
    private readonly int _dimension;

    public EmbeddingBagArchitecture(NetworkArchitecture head, int dimension)
    {
        _head = head;
        _dimension = dimension;
    }

    public override string Name => _head.Name;

    /// <summary>The head's own initialization on <c>d</c> inputs, then the table U(±1/√d).</summary>
    public override FeedForwardNetwork CreateNetwork(int inputs, int outputs, Random random)
    {
        CheckSize(inputs);
        var network = new EmbeddingBagNetwork(inputs, _head.CreateNetwork(_dimension, outputs, random));
        FillUniform(network.Embeddings, 1 / MathF.Sqrt(_dimension), random);
        return network;
    }

    public override FeedForwardModule CreateModule(int inputs, int outputs, Device device)
    {
        CheckSize(inputs);
        return new EmbeddingBagModule(inputs, _dimension, _head.CreateModule(_dimension, outputs, device), device);
    }

    /// <summary>
    /// Sparse rows are used as given: dividing a mean bag's slots by their largest value would weight a rare token as much as
    /// a frequent one in every row that has it (measured on 5,000 IMDB reviews: 78.8 % against 85.8 % test accuracy).
    /// </summary>
    public override bool ScalesSparseFeatures => false;

    public override IReadOnlyList<PhasePlan> PlanPhases(int numberOfEpochs) => _head.PlanPhases(numberOfEpochs);

    /// <summary>Rejects, with the option named, a table that would not fit one array (and so would not load back).</summary>
    private void CheckSize(int inputs)
    {
        long weights = (long)inputs * _dimension;
        if (weights > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(FastFeedForwardOptionsBase.EmbeddingDimension), _dimension,
                $"Option EmbeddingDimension {_dimension} with {inputs:N0} features needs a table of {weights:N0} weights, more than one model can hold "
                + $"({int.MaxValue:N0}); lower EmbeddingDimension or the vocabulary (MinimumCount, MaximumVocabularySize).");
        }
    }
}
