using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.Training;

/// <summary>
/// One training run of any architecture, in the stages the architecture plans (for FFF: soft training with the hardening
/// loss, then hard fine-tuning of the leaves), with every epoch evaluated by the pure-C# scorer on the exact network that
/// would be saved.
/// </summary>
internal sealed class FeedForwardTrainingSession
{
    /// <summary>Training rows sampled to evaluate each epoch (soft and hard metric) when there is no validation set.</summary>
    internal const int TrainingEvaluationRows = 2048;

    /// <summary>Validation rows used each epoch; larger validation sets are sampled.</summary>
    internal const int ValidationEvaluationRows = 8192;

    private const long StreamChunkBytes = 64L << 20;
    // Sparse batches go to libtorch as COO tensors only when that is clearly cheaper than densifying them.
    private const int SparseMinFeatures = 1024;
    private const double SparseMaxDensity = 0.1;

    private readonly IChannel _ch;
    private readonly FeedForwardOptionsBase _options;
    private readonly NetworkArchitecture _architecture;
    private readonly TrainingData _train;
    private readonly TrainingData? _valid;
    private readonly LabelKind _kind;
    private readonly int _seed;
    private readonly int _outputs;
    private readonly float[] _shift;
    private readonly float[] _scale;
    private readonly float _labelShift;
    private readonly float _labelScale = 1;
    private readonly bool _sparseBatches;
    private float[] _batchBuffer = Array.Empty<float>();
    private float[] _shiftBuffer = Array.Empty<float>();
    private readonly Random? _shiftRandom;
    private float[]? _teacher;
    private bool _teacherInTrainingSpace;
    private double _teacherWeight;

    /// <summary>Prepares a run; <paramref name="teacherOutputs"/> are distillation targets: a teacher's raw outputs for every row of the in-memory training table, or null.</summary>
    public FeedForwardTrainingSession(IChannel ch, FeedForwardOptionsBase options, NetworkArchitecture architecture, TrainingData train, TrainingData? valid,
        LabelKind kind, int seed, float[]? teacherOutputs = null)
    {
        _teacher = teacherOutputs;
        _teacherWeight = architecture.Hooks.TeacherWeight;
        _ch = ch;
        _options = options;
        _architecture = architecture;
        _train = train;
        _valid = valid;
        _kind = kind;
        _seed = seed;
        _outputs = kind == LabelKind.Multiclass ? train.ClassCount : 1;
        (_shift, _scale) = ComputeFeatureScaling(train, options.FeatureScaling, architecture.ScalesSparseFeatures);
        if (kind == LabelKind.Regression)
            (_labelShift, _labelScale) = ComputeLabelScaling(train);
        _sparseBatches = train.IsSparse && train.FeatureCount >= SparseMinFeatures
            && train.StoredValues < SparseMaxDensity * train.FeatureCount * (double)train.RowCount;
        if (options.ShiftAugmentation > 0)
            _shiftRandom = new Random(seed ^ 0x5BD1E995);
    }

    public (FeedForwardNetwork Network, FffTrainingReport Report) Run()
    {
        var clock = Stopwatch.StartNew();
        int rows = (int)_train.RowCount;
        int batchSize = _options.BatchSize;
        if (batchSize > rows)
        {
            _ch.Warning($"BatchSize {batchSize} is larger than the {rows} training rows; using batches of {rows}.");
            batchSize = rows;
        }
        if (_kind == LabelKind.Binary && (_train.PositiveCount == 0 || _train.PositiveCount == rows))
        {
            throw _ch.Except($"The label column has only one class ({(_train.PositiveCount > 0 ? "true" : "false")}) in all {rows} training rows; " +
                "binary classification needs examples of both. Check the label column and any filter before the trainer.");
        }

        // Checked before training: self-distillation targets are computed for the in-memory table when their stage starts.
        _architecture.Hooks.CheckData(_ch, _train, _architecture.PlanPhases(_options.NumberOfEpochs));
        if (_shiftRandom != null)
            CheckImageShape();
        torch.Device device = TorchRuntime.Initialize(_options.Device);
        // libtorch's thread count is process-wide: set it for this run only.
        int previousThreads = torch.get_num_threads();
        if (_options.NumberOfThreads is int threads)
            torch.set_num_threads(threads);
        try
        {
            return Train(device, clock, rows, batchSize);
        }
        finally
        {
            if (torch.get_num_threads() != previousThreads)
                torch.set_num_threads(previousThreads);
        }
    }

    private (FeedForwardNetwork Network, FffTrainingReport Report) Train(torch.Device device, Stopwatch clock, int rows, int batchSize)
    {
        int inputs = _train.FeatureCount;
        string name = _architecture.Name;
        FeedForwardNetwork network = _architecture.CreateNetwork(inputs, _outputs, new Random(_seed));
        IReadOnlyList<PhasePlan> phases = _architecture.PlanPhases(_options.NumberOfEpochs);
        _ch.Info($"{name}: {rows} rows x {inputs} features{(_train.IsSparse ? " (sparse)" : "")}{(_train.InMemory == null ? ", streamed from the data view each epoch" : "")}, {_outputs} output(s); " +
                 $"{network.Describe()} (training width {network.TrainingWidth}, {network.NeuronsPerRow} neurons per scored row); " +
                 $"{string.Join(" + ", phases.Where(p => p.Epochs > 0).Select(p => $"{p.Epochs} {p.Phase}"))} epochs, batch {batchSize}.");
        TrainingTable evaluation = (_valid ?? _train).EvaluationSample;
        int[] evaluationRows = Enumerable.Range(0, evaluation.RowCount).ToArray();
        var shuffle = new Random(_seed ^ 0x1B873593);
        // Streamed data is shuffled within chunks of about 64 MB.
        int chunkRows = _options.StreamChunkRows ?? (int)Math.Clamp(StreamChunkBytes / _train.BytesPerRow, 4L * batchSize, int.MaxValue / 2);

        var history = new List<FffTrainingProgress>();
        FeedForwardNetwork? best = null;
        int bestEpoch = 0;
        double bestMetric = double.NegativeInfinity;
        int sinceBest = 0;

        using var generator = new Generator((ulong)(uint)_seed, device);
        using Scalar? inputKeep = _options.InputDropout > 0 ? (1.0 - _options.InputDropout).ToScalar() : null;
        using FeedForwardModule module = _architecture.CreateModule(inputs, _outputs, device);
        module.Import(network);
        long stepsPerEpoch = _train.StepsPerEpoch(batchSize, chunkRows);

        foreach (PhasePlan phase in phases)
        {
            if (phase.Epochs == 0)
                continue;
            // Patience counts within a stage: an early-stopped soft stage must not cut the fine-tune stage short.
            sinceBest = 0;
            double selfDistillation = _architecture.Hooks.SelfDistillationWeight(phase);
            if (selfDistillation > 0)
            {
                // The module's own soft outputs become the stage's teacher.
                _teacher = SoftOutputs(module, device);
                _teacherInTrainingSpace = true;
                _teacherWeight = selfDistillation;
            }
            double peak = _options.LearningRate * phase.LearningRateFactor;
            using var optimizer = new AdamOptimizer(module.ParametersFor(phase), _options.Optimizer, _options.WeightDecay);
            long totalSteps = phase.Epochs * stepsPerEpoch;
            long step = 0;
            double learningRate = peak;

            for (int epochInPhase = 0; epochInPhase < phase.Epochs; epochInPhase++)
            {
                int epoch = history.Count + 1;
                var context = new StepContext(phase, epochInPhase, phase.Epochs, generator);
                module.train();
                double lossSum = 0, entropySum = 0, balanceSum = 0, weightSum = 0;
                foreach ((TrainingTable chunk, int[] order) in _train.Epoch(shuffle, chunkRows))
                {
                    for (int start = 0; start < chunk.RowCount; start += batchSize)
                    {
                        _options.CancellationToken.ThrowIfCancellationRequested();
                        int count = Math.Min(batchSize, chunk.RowCount - start);
                        learningRate = LearningRateAt(peak, step++, totalSteps);
                        optimizer.LearningRate = learningRate;

                        using var scope = NewDisposeScope();
                        ReadOnlySpan<int> batch = order.AsSpan(start, count);
                        Tensor x = BuildFeatures(chunk, batch, device, augment: true);
                        (Tensor y, Tensor w) = BuildTargets(chunk, batch, device);
                        if (inputKeep is not null && !x.is_sparse)
                            x = x.mul(rand(x.shape, device: device, generator: generator).lt(inputKeep)).div(inputKeep);
                        StepOutput output = module.TrainingForward(x, context);
                        Tensor predictionLoss = _teacher is null
                            ? PredictionLoss(output.Output, y, w)
                            : DistillationLoss(output.Output, y, BuildTeacher(batch, device), w);
                        Tensor loss = output.Penalty is null ? predictionLoss : predictionLoss.add(output.Penalty, AliveScalars.One);
                        double lossValue = loss.item<float>();
                        if (!double.IsFinite(lossValue))
                        {
                            throw _ch.Except($"Training diverged in epoch {epoch}: the loss became {lossValue}. " +
                                $"Lower LearningRate (now {_options.LearningRate}) or check the features' scale (FeatureScaling = {_options.FeatureScaling}).");
                        }
                        optimizer.ZeroGrad();
                        loss.backward();
                        optimizer.Step();
                        lossSum += predictionLoss.item<float>() * count;
                        if (output.Entropy is not null)
                            entropySum += output.Entropy.item<float>() * count;
                        if (output.Balance is not null)
                            balanceSum += output.Balance.item<float>() * count;
                        weightSum += count;
                    }
                }

                _options.CancellationToken.ThrowIfCancellationRequested();
                module.eval();
                module.Export(network);
                FeedForwardNetwork candidate = Finish(network);
                if (!candidate.IsFinite())
                    throw _ch.Except($"Training diverged in epoch {epoch}: a weight became NaN or infinite. Lower LearningRate (now {_options.LearningRate}).");
                (double softMetric, double hardMetric) = Evaluate(module, candidate, evaluation, evaluationRows, device);
                var progress = new FffTrainingProgress
                {
                    Epoch = epoch,
                    NumberOfEpochs = _options.NumberOfEpochs,
                    Phase = phase.Phase,
                    PredictionLoss = lossSum / weightSum,
                    NodeEntropy = entropySum / weightSum,
                    BalanceLoss = balanceSum / weightSum,
                    MetricName = _kind == LabelKind.Regression ? "RSquared" : "Accuracy",
                    SoftMetric = softMetric,
                    HardMetric = hardMetric,
                    OnValidationSet = _valid != null,
                    LearningRate = learningRate,
                    Elapsed = clock.Elapsed,
                };
                history.Add(progress);
                _ch.Info($"{name} epoch {epoch}/{_options.NumberOfEpochs} ({progress.Phase}): loss {progress.PredictionLoss:G5}, entropy {progress.NodeEntropy:G4}" +
                         (balanceSum > 0 ? $", balance {progress.BalanceLoss:G4}" : "") +
                         $", {(_valid != null ? "validation" : "training-sample")} {progress.MetricName} soft {softMetric:F4} / hard {hardMetric:F4}, {clock.Elapsed.TotalSeconds:F1}s");
                _options.Progress?.Report(progress);

                // Without a validation set the last epoch is kept; with one, the best hard-descent metric wins.
                if (_valid == null || hardMetric > bestMetric)
                {
                    bestMetric = hardMetric;
                    best = candidate;
                    bestEpoch = epoch;
                    sinceBest = 0;
                }
                else if (_options.EarlyStoppingPatience > 0 && ++sinceBest >= _options.EarlyStoppingPatience)
                {
                    _ch.Info($"{name}: no validation improvement for {sinceBest} epochs; stopping the {phase.Phase} stage early.");
                    module.Import(Unfinish(best!));
                    break;
                }
            }
        }

        var report = new FffTrainingReport(history.ToArray(), bestEpoch, rows, clock.Elapsed);
        _ch.Info($"{name}: kept epoch {bestEpoch}; hard {report.Final.MetricName} {report.Final.HardMetric:F4}, soft/hard gap {report.Final.SoftHardGap:F4}; {clock.Elapsed.TotalSeconds:F1}s.");
        return (best!, report);
    }

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

    private double LearningRateAt(double peak, long step, long totalSteps)
    {
        if (_options.LearningRateSchedule == FffLearningRateSchedule.Constant)
            return peak;
        long warmup = Math.Min(totalSteps / 20, 500);
        if (step < warmup)
            return peak * (step + 1) / warmup;
        double progress = (step - warmup) / (double)Math.Max(1, totalSteps - warmup);
        return peak * 0.5 * (1 + Math.Cos(Math.PI * progress));
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

    /// <summary>A batch of scaled features: dense, or a sparse COO tensor for wide, sparse data (never the whole data set).</summary>
    private void CheckImageShape()
    {
        int pixels = _options.ImageHeight * _options.ImageWidth;
        if (_sparseBatches)
        {
            throw _ch.Except($"ShiftAugmentation ({_options.ShiftAugmentation}) needs dense image features, but the feature column " +
                $"'{_options.FeatureColumnName}' is sparse; set ShiftAugmentation to 0 or densify the column.");
        }
        if (_train.FeatureCount % pixels != 0)
        {
            throw _ch.Except($"ShiftAugmentation needs the feature column '{_options.FeatureColumnName}' to hold whole images of ImageHeight x ImageWidth = " +
                $"{_options.ImageHeight} x {_options.ImageWidth} = {pixels} pixels per channel, but it has {_train.FeatureCount} values; " +
                "set ImageHeight and ImageWidth to the size the images were resized to.");
        }
    }

    /// <summary>
    /// Copies <paramref name="source"/> (channels x height x width, planar, row-major) moved down by <paramref name="dy"/> and
    /// right by <paramref name="dx"/> pixels into <paramref name="destination"/>; pixels moved in from outside are 0.
    /// </summary>
    internal static void ShiftImage(ReadOnlySpan<float> source, int height, int width, int dy, int dx, Span<float> destination)
    {
        destination.Clear();
        int channels = source.Length / (height * width);
        int columns = width - Math.Abs(dx);
        int fromColumn = Math.Max(0, -dx), toColumn = Math.Max(0, dx);
        for (int c = 0; c < channels; c++)
        {
            int plane = c * height * width;
            for (int y = Math.Max(0, dy); y < Math.Min(height, height + dy); y++)
            {
                source.Slice(plane + (y - dy) * width + fromColumn, columns)
                      .CopyTo(destination.Slice(plane + y * width + toColumn, columns));
            }
        }
    }

    private Tensor BuildFeatures(TrainingTable table, ReadOnlySpan<int> rows, torch.Device device, bool augment = false)
    {
        int inputs = table.FeatureCount;
        if (table.IsSparse && _sparseBatches)
        {
            long nonZeros = 0;
            foreach (int r in rows)
                nonZeros += table.StoredCount(r);
            var indices = new long[2 * nonZeros];
            var values = new float[nonZeros];
            long at = 0;
            for (int b = 0; b < rows.Length; b++)
            {
                int r = rows[b];
                for (long k = table.RowStart[r]; k < table.RowStart[r + 1]; k++, at++)
                {
                    int slot = table.Indices[k];
                    indices[at] = b;
                    indices[nonZeros + at] = slot;
                    values[at] = table.Values[k] * _scale[slot];
                }
            }
            using Tensor indexTensor = tensor(indices, new long[] { 2, nonZeros });
            using Tensor valueTensor = tensor(values);
            using Tensor coo = sparse_coo_tensor(indexTensor, valueTensor, new long[] { rows.Length, inputs });
            return coo.to(device);
        }

        int needed = rows.Length * inputs;
        if (_batchBuffer.Length < needed)
            _batchBuffer = new float[needed];
        Span<float> buffer = _batchBuffer.AsSpan(0, needed);
        for (int b = 0; b < rows.Length; b++)
        {
            Span<float> row = buffer.Slice(b * inputs, inputs);
            table.CopyDenseRow(rows[b], row);
            if (augment && _shiftRandom != null)
            {
                // Shifted in raw pixel space, before standardization, so an empty border is a 0 pixel, not a 0 z-score.
                int limit = _options.ShiftAugmentation;
                int dy = _shiftRandom.Next(-limit, limit + 1), dx = _shiftRandom.Next(-limit, limit + 1);
                if (dy != 0 || dx != 0)
                {
                    if (_shiftBuffer.Length < inputs)
                        _shiftBuffer = new float[inputs];
                    row.CopyTo(_shiftBuffer);
                    ShiftImage(_shiftBuffer.AsSpan(0, inputs), _options.ImageHeight, _options.ImageWidth, dy, dx, row);
                }
            }
            System.Numerics.Tensors.TensorPrimitives.Subtract(row, _shift, row);
            System.Numerics.Tensors.TensorPrimitives.Multiply(row, _scale, row);
        }
        return tensor(buffer.ToArray(), new long[] { rows.Length, inputs }, device: device);
    }

    private (Tensor Target, Tensor Weight) BuildTargets(TrainingTable table, ReadOnlySpan<int> rows, torch.Device device)
    {
        var weights = new float[rows.Length];
        Tensor target;
        if (_kind == LabelKind.Multiclass)
        {
            var classes = new long[rows.Length];
            for (int b = 0; b < rows.Length; b++)
                classes[b] = (long)table.Labels[rows[b]];
            target = tensor(classes, device: device);
        }
        else
        {
            var labels = new float[rows.Length];
            for (int b = 0; b < rows.Length; b++)
                labels[b] = (table.Labels[rows[b]] - _labelShift) / _labelScale;
            target = tensor(labels, device: device);
        }
        for (int b = 0; b < rows.Length; b++)
            weights[b] = table.Weights?[rows[b]] ?? 1f;
        return (target, tensor(weights, device: device));
    }

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

    private static (float[] Shift, float[] Scale) ComputeFeatureScaling(TrainingData data, FffFeatureScaling scaling, bool scaleSparse)
    {
        int inputs = data.FeatureCount;
        var shift = new float[inputs];
        var scale = new float[inputs];
        Array.Fill(scale, 1f);
        if (scaling == FffFeatureScaling.None || (data.IsSparse && !scaleSparse))
            return (shift, scale);
        for (int j = 0; j < inputs; j++)
        {
            if (data.IsSparse)
            {
                // Scale only: centering would densify every row.
                scale[j] = data.FeatureMaxAbs[j] > 0 ? 1 / data.FeatureMaxAbs[j] : 1;
                continue;
            }
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
