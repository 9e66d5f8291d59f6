using System;
using System.Linq;
using Microsoft.ML.Fff.Scoring;

namespace Microsoft.ML.Fff.Training;

// Feature and label scaling: computed from the scan, folded into the saved network and unfolded to restore the best weights.
internal sealed partial class FeedForwardTrainingSession
{
    /// <summary>A copy of the training-space network with the feature and label scaling folded in: what gets saved.</summary>
    private FeedForwardNetwork Finish(FeedForwardNetwork trained)
    {
        FeedForwardNetwork result = trained.Clone();
        result.FoldInputTransform(_shift, _scale);
        if (_kind == LabelKind.Regression)
            result.FoldOutputTransform(_labelScale, _labelShift);
        return result;
    }

    /// <summary>Inverse of <see cref="Finish"/> for restoring the best weights into the module (scales are never 0).</summary>
    private FeedForwardNetwork Unfinish(FeedForwardNetwork finished)
    {
        FeedForwardNetwork result = finished.Clone();
        if (_kind == LabelKind.Regression)
            result.FoldOutputTransform(1 / _labelScale, -_labelShift / _labelScale);
        float[] inverseScale = _scale.Select(s => 1 / s).ToArray();
        float[] inverseShift = _shift.Select((m, i) => -m * _scale[i]).ToArray();
        result.FoldInputTransform(inverseShift, inverseScale);
        return result;
    }

    /// <summary>
    /// The <c>Auto</c> (or <c>None</c>) scaling of the features. Wide sparse rows (trained as sparse batches) by each slot's largest
    /// magnitude: centering would densify every row (none at all without <paramref name="scaleSparse"/>). Every other column, dense or
    /// sparse: each measured slot standardized, each 0/1 indicator slot (one-hot categories, Booleans) kept as it is. Standardized,
    /// a rare category's indicator becomes a large value (hmda's AUC 0.84 to 0.73); scaled by its largest magnitude and not centred,
    /// a measurement such as a depth of 62 ± 1.4, or a column with one far value, is squeezed where the network cannot use it
    /// (diamonds' cut 0.57 to 0.74 accuracy; docs/decisions.md, "Indicators kept, measurements standardized"). Without
    /// <paramref name="keepIndicators"/> (images: a pixel that only took 0 and 1 is no category) every slot is standardized.
    /// </summary>
    internal static (float[] Shift, float[] Scale) ComputeFeatureScaling(TrainingData data, FffFeatureScaling scaling, bool scaleSparse, bool keepIndicators = true)
    {
        int inputs = data.FeatureCount;
        var shift = new float[inputs];
        var scale = new float[inputs];
        Array.Fill(scale, 1f);
        if (scaling == FffFeatureScaling.None || (data.IsSparse && !scaleSparse))
            return (shift, scale);
        bool sparseBatches = data.IsSparse && inputs >= SparseMinFeatures;
        for (int j = 0; j < inputs; j++)
        {
            if (sparseBatches)
            {
                scale[j] = data.FeatureMaxAbs[j] > 0 ? 1 / data.FeatureMaxAbs[j] : 1;
                continue;
            }
            if (keepIndicators && !data.IsMeasured(j))
                continue;
            double mean = data.FeatureSum[j] / data.RowCount;
            double variance = Math.Max(0, data.FeatureSumOfSquares[j] / data.RowCount - mean * mean);
            double std = Math.Sqrt(variance);
            shift[j] = (float)mean;
            scale[j] = std > 1e-8 ? (float)(1 / std) : 1f;
        }
        return (shift, scale);
    }

    private static (float Shift, float Scale) ComputeLabelScaling(TrainingData data)
    {
        double mean = data.LabelSum / data.RowCount;
        double std = Math.Sqrt(Math.Max(0, data.LabelSumOfSquares / data.RowCount - mean * mean));
        return ((float)mean, std > 1e-8 ? (float)std : 1f);
    }
}
