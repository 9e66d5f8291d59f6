using System;
using Microsoft.ML.Fff.Scoring;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.Training;

// Per-epoch evaluation: the soft metric from the module and the hard metric from the C# scorer.
internal sealed partial class FeedForwardTrainingSession
{
    /// <summary>Soft metric from the module, hard metric from the pure-C# scorer on the finished network.</summary>
    private (double Soft, double Hard) Evaluate(FeedForwardModule module, FeedForwardNetwork finished, TrainingTable evaluation, int[] rows, torch.Device device)
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
        var dense = new float[evaluation.FeatureCount];
        for (int i = 0; i < count; i++)
        {
            int r = i;
            Span<float> output = hard.AsSpan(i * _outputs, _outputs);
            if (evaluation.IsSparse)
            {
                long from = evaluation.RowStart[r], to = evaluation.RowStart[r + 1];
                finished.Score(evaluation.Indices.AsSpan((int)from, (int)(to - from)), evaluation.Values.AsSpan((int)from, (int)(to - from)), output);
            }
            else
            {
                evaluation.CopyDenseRow(r, dense);
                finished.Score(dense, output);
            }
        }
        return (Metric(soft, evaluation), Metric(hard, evaluation));
    }

    private double Metric(float[] outputs, TrainingTable evaluation)
    {
        int count = evaluation.RowCount;
        float[] labels = evaluation.Labels;
        if (_kind == LabelKind.Regression)
        {
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
        int correct = 0;
        for (int i = 0; i < count; i++)
        {
            float label = labels[i];
            int predicted = _kind == LabelKind.Binary
                ? (outputs[i] > 0 ? 1 : 0)
                : System.Numerics.Tensors.TensorPrimitives.IndexOfMax(outputs.AsSpan(i * _outputs, _outputs));
            if (predicted == (int)label)
                correct++;
        }
        return correct / (double)count;
    }
}
