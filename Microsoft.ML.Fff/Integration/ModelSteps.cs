using System.Collections.Generic;
using Microsoft.ML.Data;

namespace Microsoft.ML.Fff;

/// <summary>Finding our prediction step inside a fitted model, for the features that work on whole pipelines.</summary>
internal static class ModelSteps
{
    /// <summary>The steps of a fitted model in order, with nested <see cref="TransformerChain{TLastTransformer}"/>s expanded.</summary>
    public static List<ITransformer> Flatten(ITransformer model)
    {
        var steps = new List<ITransformer>();
        Add(model, steps);
        return steps;
    }

    /// <summary>Whether a step is the prediction step of one of our trainers (FFF, MoE, dense; any task).</summary>
    public static bool IsOurPredictor(ITransformer step) => step is ISingleFeaturePredictionTransformer<object> { Model: IFffScoringModel };

    private static void Add(ITransformer model, List<ITransformer> steps)
    {
        if (model is IEnumerable<ITransformer> chain && model.GetType().IsGenericType
            && model.GetType().GetGenericTypeDefinition() == typeof(TransformerChain<>))
        {
            foreach (ITransformer step in chain)
                Add(step, steps);
        }
        else
        {
            steps.Add(model);
        }
    }
}
