using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Fff.Sweeps;

/// <summary>Per-row scoring through the model parameters, without ML.NET: dense row-major features in, Score column out.</summary>
internal delegate void BatchScorer(ReadOnlySpan<float> features, Span<float> scores);

/// <summary>
/// The data of an experiment prepared once (label mapped and cached, rows for timing) and the training, evaluation and timing of one
/// configuration on it.
/// </summary>
internal sealed class TrialRunner
{
    private const int TimedRows = 256;
    private readonly MLContext _mlContext;
    private readonly FffTask _task;
    private readonly string _label;
    private readonly string _features;
    private readonly ITransformer? _labelMapping;
    private readonly bool _mapPredictedLabelBack;
    private readonly float[] _timingRows;
    private readonly int _featureCount;
    private readonly int _outputCount;

    /// <summary>The training and validation rows of each fold (one pair for a train/validation split), label mapped and cached.</summary>
    private readonly (IDataView Train, IDataView Valid)[] _folds;

    /// <summary>A runner that trains on <paramref name="train"/> and measures on <paramref name="valid"/>.</summary>
    public TrialRunner(MLContext mlContext, FffTask task, string label, string features, IDataView train, IDataView valid)
    {
        _mlContext = mlContext;
        _task = task;
        _label = label;
        _features = features;
        CheckColumns(train, "trainData", requireLabel: true);
        if (valid.Schema.GetColumnOrNull(label) is null)
            throw new ArgumentException($"Label column '{label}' is not in the validation data.", "validationData");
        CheckColumns(valid, "validationData", requireLabel: false);
        (_labelMapping, _mapPredictedLabelBack) = CreateLabelMapping(train);
        IDataView cachedTrain = mlContext.Data.Cache(_labelMapping?.Transform(train) ?? train);
        IDataView cachedValid = mlContext.Data.Cache(_labelMapping?.Transform(valid) ?? valid);
        _folds = new[] { (cachedTrain, cachedValid) };
        (_timingRows, _featureCount) = ReadRows(cachedValid, features, TimedRows);
        if (_timingRows.Length == 0)
            throw new ArgumentException("The validation data has no rows.", "validationData");
        _outputCount = OutputCount(cachedTrain);
    }

    /// <summary>
    /// A runner that cross-validates: <paramref name="data"/> is split into <paramref name="numberOfFolds"/> folds with
    /// <c>CrossValidationSplit</c> (rows with the same <paramref name="samplingKeyColumnName"/> value stay in one fold) and every
    /// trial trains once per fold. The label mapping is fitted on all rows, so every fold's model uses the same keys.
    /// </summary>
    public TrialRunner(MLContext mlContext, FffTask task, string label, string features, IDataView data, int numberOfFolds, string? samplingKeyColumnName, int seed)
    {
        _mlContext = mlContext;
        _task = task;
        _label = label;
        _features = features;
        CheckColumns(data, "data", requireLabel: true);
        if (samplingKeyColumnName != null && data.Schema.GetColumnOrNull(samplingKeyColumnName) is null)
            throw new ArgumentException($"Sampling key column '{samplingKeyColumnName}' is not in the data; pass an existing column or null.", "samplingKeyColumnName");
        (_labelMapping, _mapPredictedLabelBack) = CreateLabelMapping(data);
        IDataView cached = mlContext.Data.Cache(_labelMapping?.Transform(data) ?? data);
        _folds = mlContext.Data.CrossValidationSplit(cached, numberOfFolds, samplingKeyColumnName, seed)
            .Select(fold => (fold.TrainSet, fold.TestSet)).ToArray();
        for (int f = 0; f < _folds.Length; f++)
        {
            if (ReadRows(_folds[f].Valid, features, 1).Rows.Length == 0 || ReadRows(_folds[f].Train, features, 1).Rows.Length == 0)
            {
                throw new ArgumentOutOfRangeException("numberOfFolds", numberOfFolds,
                    $"Fold {f + 1} of {numberOfFolds} has no training or no validation rows; use fewer folds or more data" +
                    (samplingKeyColumnName is null ? "." : $" (or a sampling key column with more distinct values than '{samplingKeyColumnName}')."));
            }
        }
        (_timingRows, _featureCount) = ReadRows(cached, features, TimedRows);
        _outputCount = OutputCount(cached);
    }

    private void CheckColumns(IDataView view, string name, bool requireLabel)
    {
        if (requireLabel && view.Schema.GetColumnOrNull(_label) is null)
            throw new ArgumentException($"Label column '{_label}' is not in the {(name == "data" ? "" : "training ")}data.", "labelColumnName");
        DataViewSchema.Column? column = view.Schema.GetColumnOrNull(_features);
        if (column is null || column.Value.Type is not VectorDataViewType { IsKnownSize: true } vector || vector.ItemType != NumberDataViewType.Single)
        {
            throw new ArgumentException($"Feature column '{_features}' of {name} must be a known-size vector of Single; it is " +
                (column is null ? "missing" : column.Value.Type.ToString()) + ". Featurize the data first (or see mlContext.Fff().CreatePipeline).", name);
        }
    }

    /// <summary>The label conversion the task needs (fitted on <paramref name="data"/>), or null; and whether predictions map back.</summary>
    private (ITransformer? Mapping, bool MapBack) CreateLabelMapping(IDataView data)
    {
        DataViewType type = data.Schema[_label].Type;
        switch (_task)
        {
            case FffTask.MulticlassClassification when type is not KeyDataViewType:
                return (_mlContext.Transforms.Conversion.MapValueToKey(_label, _label).Fit(data), true);
            case FffTask.Regression when type != NumberDataViewType.Single:
                if (type is not NumberDataViewType)
                    throw new ArgumentException($"Label column '{_label}' has type {type}; regression needs a numeric label.", "labelColumnName");
                return (_mlContext.Transforms.Conversion.ConvertType(_label, _label, DataKind.Single).Fit(data), false);
            case FffTask.BinaryClassification when type is not BooleanDataViewType:
                throw new ArgumentException($"Label column '{_label}' has type {type}; binary classification needs a Boolean label.", "labelColumnName");
            default:
                return (null, false);
        }
    }

    private int OutputCount(IDataView mapped)
        => _task == FffTask.MulticlassClassification ? (int)(mapped.Schema[_label].Type as KeyDataViewType)!.Count : 1;

    /// <summary>
    /// Runs the scoring code of each kind on an untrained network of that kind until the JIT has been idle for 200 ms (at most
    /// <paramref name="maxMilliseconds"/>), so tiered compilation has optimized it before the first trial is timed. Without this,
    /// the first trials of a sweep time unoptimized code (measured: up to 20x slower) because training keeps the JIT busy and
    /// postpones tier-up. Which generic scorer runs depends on the network type, not its shape, so a default shape is enough.
    /// </summary>
    public TimeSpan WarmUpScoring(IReadOnlyList<FffArchitecture> kinds, int maxMilliseconds)
    {
        var scorers = new List<BatchScorer>();
        foreach (FffArchitecture kind in kinds)
        {
            Training.NetworkArchitecture architecture = TrainerFamilies.Of(kind).DefaultArchitecture();
            Scoring.FeedForwardNetwork network = architecture.CreateNetwork(_featureCount, _outputCount, new Random(0));
            object model = _task switch
            {
                FffTask.MulticlassClassification => new FffMulticlassModelParameters(_mlContext, network, null),
                FffTask.BinaryClassification => new FffBinaryModelParameters(_mlContext, network, null),
                _ => new FffRegressionModelParameters(_mlContext, network, null),
            };
            scorers.Add(Describe(model).Scorer);
        }
        var scores = new float[_outputCount];
        int rows = _timingRows.Length / _featureCount;
        var clock = Stopwatch.StartNew();
        long compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
        TimeSpan quietSince = TimeSpan.Zero;
        while (clock.ElapsedMilliseconds < maxMilliseconds && clock.Elapsed - quietSince < TimeSpan.FromMilliseconds(200))
        {
            foreach (BatchScorer scorer in scorers)
            {
                for (int r = 0; r < rows; r++)
                    scorer(_timingRows.AsSpan(r * _featureCount, _featureCount), scores);
            }
            long now = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (now != compiled)
            {
                compiled = now;
                quietSince = clock.Elapsed;
            }
        }
        return clock.Elapsed;
    }

    /// <summary>
    /// Trains the trial's configuration on every fold and fills the trial's metric (the mean over the folds), cost and model (the
    /// fold with the best metric; the first on ties); throws if training or evaluation fails.
    /// </summary>
    public void Run(FffTrialResult trial, int? threads, CancellationToken token, Func<IDataView, double> metric, bool higherIsBetter)
    {
        FffTrialConfiguration c = trial.Configuration;
        var clock = Stopwatch.StartNew();
        var foldMetrics = new double[_folds.Length];
        (ITransformer Predictor, object Model, IDataView Scored)? kept = null;
        int keptFold = -1;
        for (int f = 0; f < _folds.Length; f++)
        {
            (ITransformer predictor, object model) = Fit(c, threads, token, _folds[f].Train, _folds[f].Valid);
            token.ThrowIfCancellationRequested();
            IDataView scored = predictor.Transform(_folds[f].Valid);
            double value = metric(scored);
            if (double.IsNaN(value))
                throw new InvalidOperationException(_folds.Length == 1 ? "The validation metric is NaN." : $"The validation metric of fold {f + 1} is NaN.");
            foldMetrics[f] = value;
            if (keptFold < 0 || (higherIsBetter ? value > foldMetrics[keptFold] : value < foldMetrics[keptFold]))
                (kept, keptFold) = ((predictor, model, scored), f);
        }
        trial.TrainingTime = clock.Elapsed;

        (ITransformer keptPredictor, object keptModel, IDataView keptScored) = kept!.Value;
        var parts = new List<ITransformer>();
        if (_labelMapping != null)
            parts.Add(_labelMapping);
        parts.Add(keptPredictor);
        if (_mapPredictedLabelBack)
            parts.Add(_mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel").Fit(keptScored));
        (BatchScorer scorer, int outputs, int neurons, int width) = Describe(keptModel);
        trial.Metric = foldMetrics.Average();
        trial.FoldMetrics = _folds.Length == 1 ? Array.Empty<double>() : foldMetrics;
        trial.NeuronsPerRow = neurons;
        trial.TrainingWidth = width;
        trial.MicrosecondsPerRow = MeasureMicrosecondsPerRow(scorer, outputs, warmupMilliseconds: 20);
        trial.Model = new TransformerChain<ITransformer>(parts.ToArray());
        trial.Scorer = scorer;
        trial.ScoreCount = outputs;
        trial.Status = FffTrialStatus.Succeeded;
    }

    /// <summary>
    /// Median per-row time of short timed passes: each pass scores 32 validation rows one at a time (cycling through up to 256 rows),
    /// 64 passes in all, after warm-up passes over all rows for at least <paramref name="warmupMilliseconds"/>. Short passes keep
    /// most samples free of preemption on a busy machine, so the median reads the model, not the load.
    /// </summary>
    internal double MeasureMicrosecondsPerRow(BatchScorer scorer, int outputs, int warmupMilliseconds)
    {
        const int RowsPerPass = 32, Passes = 64;
        int rows = _timingRows.Length / _featureCount;
        var scores = new float[outputs];
        void Score(int row) => scorer(_timingRows.AsSpan(row * _featureCount, _featureCount), scores);
        var warmup = Stopwatch.StartNew();
        for (int i = 0; i < 3 || warmup.ElapsedMilliseconds < warmupMilliseconds; i++)
        {
            for (int r = 0; r < rows; r++)
                Score(r);
        }
        var passes = new double[Passes];
        int next = 0;
        for (int p = 0; p < Passes; p++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < RowsPerPass; i++)
            {
                Score(next);
                next = next + 1 == rows ? 0 : next + 1;
            }
            passes[p] = Stopwatch.GetElapsedTime(start).TotalMicroseconds / RowsPerPass;
        }
        Array.Sort(passes);
        return passes[Passes / 2];
    }

    private static (BatchScorer Scorer, int Outputs, int Neurons, int Width) Describe(object model) => model switch
    {
        FffModelParametersBase<float> m => (m.ScoreBatch, m.OutputCount, m.NeuronsPerRow, m.TrainingWidth),
        FffMulticlassModelParameters m => (m.ScoreBatch, m.OutputCount, m.NeuronsPerRow, m.TrainingWidth),
        _ => throw new InvalidOperationException($"Unexpected model parameters {model.GetType()}."),
    };

    private (ITransformer Predictor, object Model) Fit(FffTrialConfiguration c, int? threads, CancellationToken token, IDataView train, IDataView valid)
    {
        IHostEnvironment env = CatalogUtils.GetEnvironment(_mlContext.Regression.Trainers);
        return TrainerFamilies.Of(c.Architecture).Fit(env, _task, c, Shared, train, valid);

        void Shared(FeedForwardOptionsBase o)
        {
            o.LabelColumnName = _label;
            o.FeatureColumnName = _features;
            o.NumberOfEpochs = c.NumberOfEpochs;
            o.BatchSize = c.BatchSize;
            o.LearningRate = c.LearningRate;
            o.Seed = c.Seed;
            o.NumberOfThreads = threads;
            o.CancellationToken = token;
        }
    }

    /// <summary>Up to <paramref name="maxRows"/> feature vectors of <paramref name="data"/>, densified, row-major.</summary>
    private static (float[] Rows, int FeatureCount) ReadRows(IDataView data, string features, int maxRows)
    {
        DataViewSchema.Column column = data.Schema[features];
        int count = ((VectorDataViewType)column.Type).Size;
        var rows = new List<float>();
        using DataViewRowCursor cursor = data.GetRowCursor(new[] { column });
        ValueGetter<VBuffer<float>> getter = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> value = default;
        var dense = new float[count];
        int read = 0;
        while (read < maxRows && cursor.MoveNext())
        {
            getter(ref value);
            value.CopyTo(dense);
            rows.AddRange(dense);
            read++;
        }
        return (rows.ToArray(), count);
    }
}
