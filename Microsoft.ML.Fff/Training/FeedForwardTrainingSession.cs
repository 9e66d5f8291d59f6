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
internal sealed partial class FeedForwardTrainingSession
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

    /// <summary>Where this run's time goes (logged by the trainer; the caller may add its own parts, such as the data scans).</summary>
    public TrainingTimes Times { get; } = new();

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
        // An input stage that scales takes raw features and maps them itself (MapInputRow), so nothing is scaled or folded here;
        // behind a clamp the usual scaling is folded into the inner network.
        (_shift, _scale) = ComputeFeatureScaling(train, architecture.StageScalesFeatures ? FffFeatureScaling.None : options.FeatureScaling,
            architecture.ScalesSparseFeatures, keepIndicators: options.ImageHeight == 0);
        if (kind == LabelKind.Regression)
            (_labelShift, _labelScale) = ComputeLabelScaling(train);
        _sparseBatches = !architecture.HasInputStage && train.IsSparse && train.FeatureCount >= SparseMinFeatures
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
            string message = $"BatchSize {batchSize} is larger than the {rows} training rows; using batches of {rows}.";
            if (_options.BatchSizeChosenForData)
                _ch.Info(message);
            else
                _ch.Warning(message);
            batchSize = rows;
        }
        if (_kind == LabelKind.Binary && (_train.PositiveCount == 0 || _train.PositiveCount == rows))
        {
            throw _ch.Except($"The label column '{_train.LabelColumnName}' has only one class ({(_train.PositiveCount > 0 ? "true" : "false")}) in all {rows} training rows; " +
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
        double bestSelection = double.NegativeInfinity;
        int sinceBest = 0;

        using var generator = new Generator((ulong)(uint)_seed, device);
        using FeedForwardModule module = _architecture.CreateModule(inputs, _outputs, device);
        // The trees of an ensemble train on the mean of their own losses, so each tree's gradients come from its own loss alone: on
        // one libtorch thread (small batches, Train's rule) the trees' forward and backward passes run side by side, one per core.
        IReadOnlyList<FeedForwardModule>? sideBySide = module.IndependentMembers is { Count: > 1 } members
            && torch.get_num_threads() == 1 && Environment.ProcessorCount > 1 ? members : null;
        using Scalar? inputKeep = _options.InputDropout > 0 ? (1.0 - _options.InputDropout).ToScalar() : null;
        module.Import(network);
        long stepsPerEpoch = _train.StepsPerEpoch(batchSize, chunkRows);
        using WholeTable? whole = CreateWholeTable(device);

        // Without a validation set nothing stops a run early, so its last epoch is known (EpochMetrics.Last measures only that one).
        PhasePlan? lastPhase = phases.LastOrDefault(p => p.Epochs > 0);
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
                    (Tensor Features, Tensor Targets, Tensor Weights)? permuted = whole?.Permute(order);
                    using Tensor? epochFeatures = permuted?.Features, epochTargets = permuted?.Targets, epochWeights = permuted?.Weights;
                    for (int start = 0; start < chunk.RowCount; start += batchSize)
                    {
                        _options.CancellationToken.ThrowIfCancellationRequested();
                        int count = Math.Min(batchSize, chunk.RowCount - start);
                        learningRate = LearningRateAt(peak, step++, totalSteps);
                        optimizer.LearningRate = learningRate;

                        using var scope = NewDisposeScope();
                        long mark = TrainingTimes.Now;
                        ReadOnlySpan<int> batch = order.AsSpan(start, count);
                        Tensor x, y, w;
                        if (permuted is not null)
                        {
                            // Slices (views) of the epoch's permuted table.
                            x = epochFeatures!.narrow(0, start, count);
                            y = epochTargets!.narrow(0, start, count);
                            w = epochWeights!.narrow(0, start, count);
                        }
                        else
                        {
                            x = BuildFeatures(chunk, batch, device, augment: true);
                            (y, w) = BuildTargets(chunk, batch, device);
                        }
                        mark = Times.Add(TrainingPart.Batches, mark);
                        if (inputKeep is not null && !x.is_sparse)
                            x = x.mul(rand(x.shape, device: device, generator: generator).lt(inputKeep)).div(inputKeep);
                        StepValues values;
                        if (sideBySide is not null)
                        {
                            optimizer.ZeroGrad();
                            values = MemberSteps(sideBySide, x, y, w, batch, device, context);
                            // Forward and backward of all the trees, side by side: counted as forward.
                            mark = Times.Add(TrainingPart.Forward, mark);
                            CheckLoss(values.Loss, epoch);
                        }
                        else
                        {
                            StepOutput output = module.TrainingForward(x, context);
                            Tensor predictionLoss = StepLoss(output, y, w, batch, device);
                            Tensor loss = output.Penalty is null ? predictionLoss : predictionLoss.add(output.Penalty, AliveScalars.One);
                            values = new StepValues(loss.item<float>(), predictionLoss.item<float>(), output.Entropy?.item<float>(), output.Balance?.item<float>());
                            CheckLoss(values.Loss, epoch);
                            mark = Times.Add(TrainingPart.Forward, mark);
                            optimizer.ZeroGrad();
                            loss.backward();
                            mark = Times.Add(TrainingPart.Backward, mark);
                        }
                        optimizer.Step();
                        mark = Times.Add(TrainingPart.Optimizer, mark);
                        lossSum += values.Prediction * count;
                        entropySum += (values.Entropy ?? 0) * count;
                        balanceSum += (values.Balance ?? 0) * count;
                        weightSum += count;
                        Times.Add(TrainingPart.Bookkeeping, mark);
                        Times.Steps++;
                    }
                }

                _options.CancellationToken.ThrowIfCancellationRequested();
                module.eval();
                // A run whose model is judged elsewhere (an epoch-selection fold) keeps the last epoch and skips the per-epoch metrics.
                bool lastEpoch = ReferenceEquals(phase, lastPhase) && epochInPhase == phase.Epochs - 1;
                bool measure = _valid != null || _options.EpochMetrics == EpochMetrics.Every || (_options.EpochMetrics == EpochMetrics.Last && lastEpoch);
                // Without a validation set the last epoch is kept, so an epoch before it that is not measured needs no exported
                // model (a weight that turns non-finite on the way makes the next step's loss non-finite, which CheckLoss reports).
                long exportStart = TrainingTimes.Now;
                FeedForwardNetwork? candidate = null;
                if (measure || lastEpoch)
                {
                    module.Export(network);
                    candidate = Finish(network);
                    if (!candidate.IsFinite())
                        throw _ch.Except($"Training diverged in epoch {epoch}: a weight became NaN or infinite. Lower LearningRate (now {_options.LearningRate}).");
                }
                long evaluationStart = Times.Add(TrainingPart.Export, exportStart);
                (double softMetric, double hardMetric, double selection) = measure
                    ? Evaluate(module, candidate!, evaluation, evaluationRows, device) : (double.NaN, double.NaN, double.NaN);
                Times.Add(TrainingPart.Evaluation, evaluationStart);
                Times.Epochs++;
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
                         (measure ? $", {(_valid != null ? "validation" : "training-sample")} {progress.MetricName} soft {softMetric:F4} / hard {hardMetric:F4}" : "") +
                         (_valid != null && _kind == LabelKind.Binary ? $", hard AUC {selection:F4}" : "") + $", {clock.Elapsed.TotalSeconds:F1}s");
                _options.Progress?.Report(progress);

                // Without a validation set the last epoch is kept; with one, the best hard-descent metric wins (AUC for binary).
                if (_valid == null || selection > bestSelection)
                {
                    bestSelection = selection;
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
        _ch.Info($"{name}: kept epoch {bestEpoch}{(_valid != null && _kind == LabelKind.Binary ? $" (best validation hard AUC {bestSelection:F4})" : "")}; " +
                 // A run told to measure nothing (a fold of the epoch selection, scored by its caller) has no metric to print.
                 (double.IsNaN(report.Final.HardMetric) ? "" : $"hard {report.Final.MetricName} {report.Final.HardMetric:F4}, soft/hard gap {report.Final.SoftHardGap:F4}; ") +
                 $"{clock.Elapsed.TotalSeconds:F1}s.");
        return (best!, report);
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

}
