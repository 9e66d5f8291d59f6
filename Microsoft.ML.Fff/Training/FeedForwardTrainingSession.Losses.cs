using System;
using System.Linq;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.Training;

// The losses of a training step: the prediction loss, the distillation loss against teacher outputs, and those targets.
internal sealed partial class FeedForwardTrainingSession
{
    /// <summary>
    /// The step's prediction loss (against the labels, or mixed with the teacher's outputs). For an ensemble it is the mean of
    /// the members' losses: each member's rows are scored as rows of their own, with the row's target, teacher and weight.
    /// </summary>
    private Tensor StepLoss(StepOutput output, Tensor target, Tensor weight, ReadOnlySpan<int> batch, torch.Device device)
    {
        Tensor predicted = output.Output;
        Tensor? teacher = _teacher is null ? null : BuildTeacher(batch, device);
        if (output.Members is Tensor members)
        {
            // [B, K, O] -> [B*K, O]: row b's members are rows b*K .. b*K+K-1, next to copies of row b's target, teacher and weight.
            long k = members.shape[1];
            predicted = members.reshape(-1, members.shape[2]);
            target = target.repeat_interleave(k, 0);
            weight = weight.repeat_interleave(k, 0);
            teacher = teacher?.repeat_interleave(k, 0);
        }
        return teacher is null ? PredictionLoss(predicted, target, weight) : DistillationLoss(predicted, target, teacher, weight);
    }

    private Tensor PredictionLoss(Tensor output, Tensor target, Tensor weight)
    {
        Tensor perRow = _kind switch
        {
            LabelKind.Binary => nn.functional.binary_cross_entropy_with_logits(output.squeeze(1), SmoothBinary(target), reduction: nn.Reduction.None),
            LabelKind.Multiclass => nn.functional.cross_entropy(output, target, reduction: nn.Reduction.None, label_smoothing: _options.LabelSmoothing),
            _ => Squared(output.squeeze(1).add(target, AliveScalars.MinusOne)),
        };
        using Scalar tiny = 1e-12.ToScalar();
        return (perRow * weight).sum() / weight.sum().clamp_min(tiny);
    }

    /// <summary>Element-wise square as <c>d * d</c>: TorchSharp's <c>square()</c> is <c>pow(2)</c> with a temporary scalar.</summary>
    private static Tensor Squared(Tensor difference) => difference.mul(difference);

    /// <summary>The module's evaluation-time (soft) outputs, in training space, for every row of the in-memory training table.</summary>
    private float[] SoftOutputs(FeedForwardModule module, torch.Device device)
    {
        TrainingTable table = _train.InMemory
            ?? throw _ch.Except($"Self-distillation needs the training data in memory, but it is larger than InMemoryLimitMegabytes " +
                $"({_options.InMemoryLimitMegabytes}); raise that option or turn self-distillation off.");
        var result = new float[(long)table.RowCount * _outputs];
        int[] rows = Enumerable.Range(0, table.RowCount).ToArray();
        module.eval();
        using (no_grad())
        {
            for (int start = 0; start < rows.Length; start += 1024)
            {
                int n = Math.Min(1024, rows.Length - start);
                using var scope = NewDisposeScope();
                using Tensor cpu = module.forward(BuildFeatures(table, rows.AsSpan(start, n), device)).cpu().contiguous();
                cpu.data<float>().CopyTo(result, start * _outputs);
            }
        }
        module.train();
        return result;
    }

    /// <summary>The teacher's outputs for the batch rows, in training space (regression: standardized like the labels).</summary>
    private Tensor BuildTeacher(ReadOnlySpan<int> rows, torch.Device device)
    {
        var values = new float[rows.Length * _outputs];
        for (int b = 0; b < rows.Length; b++)
        {
            for (int o = 0; o < _outputs; o++)
            {
                float t = _teacher![rows[b] * _outputs + o];
                values[b * _outputs + o] = _kind == LabelKind.Regression && !_teacherInTrainingSpace ? (t - _labelShift) / _labelScale : t;
            }
        }
        return tensor(values, new long[] { rows.Length, _outputs }, device: device);
    }

    /// <summary>
    /// <c>(1 - a) * loss(label) + a * T^2 * CE(teacher_T, student_T)</c> for classification (the cross-entropy differs from the
    /// KL divergence only by the teacher's entropy, a constant), <c>(1 - a) * (y - label)^2 + a * (y - teacher)^2</c> for regression.
    /// </summary>
    private Tensor DistillationLoss(Tensor output, Tensor target, Tensor teacher, Tensor weight)
    {
        double a = _teacherWeight, temperature = _architecture.Hooks.TeacherTemperature;
        using Scalar labelShare = (1 - a).ToScalar(), teacherShare = (a * (_kind == LabelKind.Regression ? 1 : temperature * temperature)).ToScalar();
        using Scalar inverseT = (1 / temperature).ToScalar(), tiny = 1e-12.ToScalar();
        Tensor labelTerm, teacherTerm;
        switch (_kind)
        {
            case LabelKind.Binary:
                labelTerm = nn.functional.binary_cross_entropy_with_logits(output.squeeze(1), SmoothBinary(target), reduction: nn.Reduction.None);
                teacherTerm = nn.functional.binary_cross_entropy_with_logits(output.squeeze(1).mul(inverseT), sigmoid(teacher.squeeze(1).mul(inverseT)), reduction: nn.Reduction.None);
                break;
            case LabelKind.Multiclass:
                labelTerm = nn.functional.cross_entropy(output, target, reduction: nn.Reduction.None, label_smoothing: _options.LabelSmoothing);
                teacherTerm = softmax(teacher.mul(inverseT), 1).mul(nn.functional.log_softmax(output.mul(inverseT), 1)).sum(new long[] { 1 }).neg();
                break;
            default:
                labelTerm = Squared(output.squeeze(1).add(target, AliveScalars.MinusOne));
                teacherTerm = Squared(output.add(teacher, AliveScalars.MinusOne)).squeeze(1);
                break;
        }
        Tensor perRow = labelTerm.mul(labelShare).add(teacherTerm, teacherShare);
        return (perRow * weight).sum() / weight.sum().clamp_min(tiny);
    }

    /// <summary>Binary targets moved towards 1/2 by the label smoothing: <c>y (1 - s) + s / 2</c>.</summary>
    private Tensor SmoothBinary(Tensor target)
    {
        if (_options.LabelSmoothing == 0)
            return target;
        using Scalar keep = (1.0 - _options.LabelSmoothing).ToScalar(), half = (_options.LabelSmoothing / 2.0).ToScalar();
        return target.mul(keep).add(half, AliveScalars.One);
    }
}
