using System;
using Microsoft.ML.Fff.Scoring;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.Training;

// Per-epoch evaluation: the soft metric from the module and the hard metric from the C# scorer.
internal sealed partial class FeedForwardTrainingSession
{
    /// <summary>
    /// Soft metric from the module, hard metric from the pure-C# scorer on the finished network, and the hard-descent value by which
    /// epochs are compared: the hard metric, except AUC for binary labels (on rare positives every early epoch has the accuracy of
    /// "always negative", so accuracy would keep the first epoch).
    /// </summary>
    private (double Soft, double Hard, double Selection) Evaluate(FeedForwardModule module, FeedForwardNetwork finished, TrainingTable evaluation, int[] rows, torch.Device device)
    {
        int count = evaluation.RowCount;
        var soft = new float[count * _outputs];
        using (no_grad())
        {
            for (int start = 0; start < count; start += 512)
            {
                int n = Math.Min(512, count - start);
                using var scope = NewDisposeScope();
                Tensor x = BuildFeatures(evaluation, rows.AsSpan(start, n), device);
                Tensor output = module.forward(x);
                if (_kind == LabelKind.Regression)
                {
                    using Scalar scale = _labelScale.ToScalar(), shift = _labelShift.ToScalar();
                    output = output.mul(scale).add(shift, AliveScalars.One);
                }
                using Tensor cpu = output.cpu().contiguous();
                cpu.data<float>().CopyTo(soft, start * _outputs);
            }
        }
        var hard = new float[count * _outputs];
        ScoreHard(finished, evaluation, hard);
        double hardMetric = Metric(hard, evaluation);
        return (Metric(soft, evaluation), hardMetric, EpochSelection.Metric(_kind, hard, evaluation.Labels, _outputs));
    }

    private double Metric(float[] outputs, TrainingTable evaluation) => Metric(_kind, outputs, evaluation.Labels.AsSpan(0, evaluation.RowCount), _outputs);

    /// <summary>Scores every row of <paramref name="rows"/> with the pure-C# scorer (hard descent) into <paramref name="outputs"/> (rows x outputs).</summary>
    internal static void ScoreHard(FeedForwardNetwork network, TrainingTable rows, Span<float> outputs)
    {
        int width = outputs.Length / Math.Max(1, rows.RowCount);
        var dense = rows.IsSparse ? Array.Empty<float>() : new float[rows.FeatureCount];
        for (int r = 0; r < rows.RowCount; r++)
        {
            Span<float> output = outputs.Slice(r * width, width);
            if (rows.IsSparse)
            {
                long from = rows.RowStart[r], to = rows.RowStart[r + 1];
                network.Score(rows.Indices.AsSpan((int)from, (int)(to - from)), rows.Values.AsSpan((int)from, (int)(to - from)), output);
            }
            else
            {
                rows.CopyDenseRow(r, dense);
                network.Score(dense, output);
            }
        }
    }

    /// <summary>The epoch metric: R² for regression, accuracy for classification (binary: a positive raw score predicts the positive class).</summary>
    internal static double Metric(LabelKind kind, ReadOnlySpan<float> outputs, ReadOnlySpan<float> labels, int outputsPerRow)
    {
        int count = labels.Length;
        if (kind == LabelKind.Regression)
            return RSquared(outputs, labels);
        int correct = 0;
        for (int i = 0; i < count; i++)
        {
            int predicted = kind == LabelKind.Binary
                ? (outputs[i] > 0 ? 1 : 0)
                : System.Numerics.Tensors.TensorPrimitives.IndexOfMax(outputs.Slice(i * outputsPerRow, outputsPerRow));
            if (predicted == (int)labels[i])
                correct++;
        }
        return correct / (double)count;
    }

    /// <summary>1 - residual / total sum of squares around the labels' mean (0 when the labels are constant).</summary>
    internal static double RSquared(ReadOnlySpan<float> outputs, ReadOnlySpan<float> labels)
    {
        int count = labels.Length;
        double mean = 0;
        for (int i = 0; i < count; i++)
            mean += labels[i];
        mean /= count;
        double residual = 0, total = 0;
        for (int i = 0; i < count; i++)
        {
            double y = labels[i];
            residual += (y - outputs[i]) * (y - outputs[i]);
            total += (y - mean) * (y - mean);
        }
        return total > 0 ? 1 - residual / total : 0;
    }
}
