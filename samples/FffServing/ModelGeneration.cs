using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;

namespace FffServing;

/// <summary>
/// One loaded model, immutable once built: the swap protocol's unit. A request reads <see cref="ModelStore.Current"/>
/// once, scores every row with that object and reports its <see cref="Id"/> and <see cref="Version"/>, so a swap in the
/// middle of a request cannot mix two models in one response. The generation that was swapped out stays alive for as long
/// as in-flight requests hold it; the garbage collector retires it (and its engine pool) afterwards.
/// </summary>
internal sealed class ModelGeneration
{
    private readonly FffModelParametersBase<float>? _scalarModel;
    private readonly FffModelParametersBase<VBuffer<float>>? _vectorModel;
    private readonly ObjectPool<RowScorer> _engines;
    private readonly ObjectPool<PrefixScorer>? _prefixEngines;   // null: the predictor reads the request's features as they are
    private readonly PredictedLabels? _labels;

    private ModelGeneration(long id, string version, ITransformer transformer, ITransformer? prefix, FffModelParametersBase<float>? scalar,
        FffModelParametersBase<VBuffer<float>>? vector, int featureCount, int predictorFeatureCount, int outputCount, PredictedLabels? labels)
    {
        Id = id;
        Version = version;
        _scalarModel = scalar;
        _vectorModel = vector;
        _labels = labels;
        FeatureCount = featureCount;
        PredictorFeatureCount = predictorFeatureCount;
        OutputCount = outputCount;
        Architecture = (scalar?.Architecture ?? vector!.Architecture).ToString();
        // Engines are created lazily, one per concurrently scoring thread; a returned engine is reused by the next request.
        _engines = new DefaultObjectPool<RowScorer>(new RowScorerPolicy(transformer, featureCount, vector is not null),
            Environment.ProcessorCount * 4);
        if (prefix is not null)
            _prefixEngines = new DefaultObjectPool<PrefixScorer>(new PrefixScorerPolicy(prefix, featureCount), Environment.ProcessorCount * 4);
    }

    /// <summary>Increases by one with every model that was loaded successfully (1 = the model the service started with).</summary>
    public long Id { get; }

    /// <summary>The first 16 hex digits of the SHA-256 of the model file: clients can tell which file scored them.</summary>
    public string Version { get; }

    /// <summary>When the load finished (set once, before the generation is published).</summary>
    public DateTimeOffset LoadedAt { get; private set; }

    /// <summary>Load, checks and probe, in milliseconds.</summary>
    public double LoadMilliseconds { get; private set; }

    /// <summary>Features per request row.</summary>
    public int FeatureCount { get; }

    /// <summary>Features per row as the predictor sees them (after the steps before it; usually <see cref="FeatureCount"/>).</summary>
    public int PredictorFeatureCount { get; }

    /// <summary>True when responses carry <c>predictedLabel</c> (the pipeline has a PredictedLabel column we can derive).</summary>
    public bool HasPredictedLabel => _labels is not null;

    /// <summary>True when steps before the predictor change <c>Features</c>, so batches pass through them first.</summary>
    public bool HasPrefix => _prefixEngines is not null;

    public int OutputCount { get; }

    /// <summary>True when the Score column is a vector (multiclass), false for a single value (binary, regression).</summary>
    public bool HasVectorScore => _vectorModel is not null;

    public string Architecture { get; }

    /// <summary>The version string of a model file's bytes.</summary>
    public static string VersionOf(ReadOnlySpan<byte> modelBytes) => Convert.ToHexStringLower(SHA256.HashData(modelBytes))[..16];

    /// <summary>
    /// Loads a model from its file bytes and checks that it can be served: a <c>Features</c> vector input of known size, one
    /// of our trainers as the predictor, a pipeline that can compute <c>Score</c> from rows holding only <c>Features</c>
    /// (steps that only rewrite columns the client does not send, such as a <c>MapValueToKey("Label")</c>, are left out),
    /// and the batch path giving the PredictionEngine's scores and predicted labels bit for bit on probe rows. Throws
    /// <see cref="InvalidDataException"/> naming the problem.
    /// </summary>
    public static ModelGeneration Load(byte[] modelBytes, long id)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var mlContext = new MLContext(seed: 0);
        ITransformer transformer;
        DataViewSchema inputSchema;
        try
        {
            transformer = mlContext.Model.Load(new MemoryStream(modelBytes, writable: false), out inputSchema);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // ML.NET reports corrupt and truncated zips with several exception types; all mean "not a loadable model".
            throw new InvalidDataException($"not a loadable ML.NET model ({e.GetType().Name}: {Innermost(e).Message})", e);
        }

        if (inputSchema.GetColumnOrNull("Features") is not DataViewSchema.Column features
            || features.Type is not VectorDataViewType { ItemType: NumberDataViewType numberType, Size: > 0 } vectorType
            || numberType != NumberDataViewType.Single)
        {
            throw new InvalidDataException("the model's input schema has no 'Features' column of a known-size Single vector.");
        }
        int featureCount = vectorType.Size;

        ITransformer[] steps = Flatten(transformer).ToArray();
        int predictorIndex = Array.FindLastIndex(steps, t => t is ISingleFeaturePredictionTransformer<object>);
        var predictor = predictorIndex >= 0 ? (ISingleFeaturePredictionTransformer<object>)steps[predictorIndex] : null;
        var scalar = predictor?.Model as FffModelParametersBase<float>;
        var vector = predictor?.Model as FffModelParametersBase<VBuffer<float>>;
        if (scalar is null && vector is null)
            throw new InvalidDataException("the model has no FFF, MoE or dense predictor (Microsoft.ML.Fff) to score with.");
        if (predictor!.FeatureColumnName != "Features")
            throw new InvalidDataException($"the predictor reads column '{predictor.FeatureColumnName}', not 'Features'.");

        ServingPipeline pipeline = ServingPipeline.Build(steps, predictorIndex, inputSchema, features);
        int modelFeatures = scalar?.FeatureCount ?? vector!.FeatureCount;
        if (pipeline.PredictorInput.GetColumnOrNull("Features") is not { Type: VectorDataViewType { Size: var atPredictor } } || atPredictor != modelFeatures)
            throw new InvalidDataException($"the steps before the predictor give 'Features' a shape other than the {modelFeatures} features the predictor takes.");
        int outputCount = scalar?.OutputCount ?? vector!.OutputCount;

        // Nothing left out keeps the loaded object itself, so the common case serves exactly what was saved.
        ITransformer serving = pipeline.Kept.Length == steps.Length ? transformer : new TransformerChain<ITransformer>(pipeline.Kept);
        ITransformer? prefix = pipeline.PredictorPosition > 0 ? new TransformerChain<ITransformer>(pipeline.Kept[..pipeline.PredictorPosition]) : null;
        PredictedLabels? labels = PredictedLabels.For(pipeline, vector is not null, outputCount);

        var generation = new ModelGeneration(id, VersionOf(modelBytes), serving, prefix, scalar, vector, featureCount, modelFeatures, outputCount, labels);
        generation.Probe(mlContext, serving);
        generation.LoadMilliseconds = clock.Elapsed.TotalMilliseconds;
        generation.LoadedAt = DateTimeOffset.UtcNow;
        return generation;
    }

    private static IEnumerable<ITransformer> Flatten(ITransformer transformer) =>
        // Any TransformerChain<T> (nested chains included) is an IEnumerable<ITransformer> by covariance.
        transformer is IEnumerable<ITransformer> chain ? chain.SelectMany(Flatten) : new[] { transformer };

    /// <summary>Scores one row with a pooled PredictionEngine (the classic ML.NET serving path).</summary>
    public void ScoreRow(ReadOnlySpan<float> features, Span<float> scores)
    {
        RowScorer engine = _engines.Get();
        try
        {
            engine.Score(features, scores);
        }
        finally
        {
            _engines.Return(engine);
        }
    }

    /// <summary>
    /// Scores row-major rows with the model parameters' grouped batch path (thread-safe, shared by all requests). When steps
    /// before the predictor change <c>Features</c>, each row first goes through them with a pooled PredictionEngine over
    /// those steps alone (the same transforms the full engine applies) into a pooled buffer. A row those steps leave sparse
    /// is scored by the full PredictionEngine instead: the library scores sparse rows with its sparse kernels, whose sums
    /// differ in the last bits from the dense batch kernels, and the library's own batch view splits rows the same way.
    /// </summary>
    public void ScoreBatch(ReadOnlySpan<float> features, Span<float> scores)
    {
        if (_prefixEngines is null)
        {
            ScoreTransformedBatch(features, scores);
            return;
        }
        int rows = features.Length / FeatureCount;
        float[] transformed = ArrayPool<float>.Shared.Rent(rows * PredictorFeatureCount);
        int[] denseRows = ArrayPool<int>.Shared.Rent(rows);
        float[]? denseScores = null;
        try
        {
            int dense = 0;
            PrefixScorer prefix = _prefixEngines.Get();
            try
            {
                for (int r = 0; r < rows; r++)
                {
                    if (prefix.TryTransformDense(features.Slice(r * FeatureCount, FeatureCount), transformed.AsSpan(dense * PredictorFeatureCount, PredictorFeatureCount)))
                        denseRows[dense++] = r;
                }
            }
            finally
            {
                _prefixEngines.Return(prefix);
            }
            if (dense == rows)
            {
                ScoreTransformedBatch(transformed.AsSpan(0, rows * PredictorFeatureCount), scores);
                return;
            }
            denseScores = ArrayPool<float>.Shared.Rent(dense * OutputCount);
            ScoreTransformedBatch(transformed.AsSpan(0, dense * PredictorFeatureCount), denseScores.AsSpan(0, dense * OutputCount));
            for (int i = 0, next = 0; next < rows; next++)
            {
                if (i < dense && denseRows[i] == next)
                    denseScores.AsSpan(i++ * OutputCount, OutputCount).CopyTo(scores.Slice(next * OutputCount, OutputCount));
                else
                    ScoreRow(features.Slice(next * FeatureCount, FeatureCount), scores.Slice(next * OutputCount, OutputCount));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(transformed);
            ArrayPool<int>.Shared.Return(denseRows);
            if (denseScores is not null)
                ArrayPool<float>.Shared.Return(denseScores);
        }
    }

    /// <summary>Writes the predicted label of one row's scores; only when <see cref="HasPredictedLabel"/>.</summary>
    public void WritePredictedLabel(System.Text.Json.Utf8JsonWriter json, ReadOnlySpan<float> rowScores) => _labels!.Write(json, rowScores);

    private void ScoreTransformedBatch(ReadOnlySpan<float> features, Span<float> scores)
    {
        if (_vectorModel is not null)
            _vectorModel.ScoreBatch(features, scores);
        else
            _scalarModel!.ScoreBatch(features, scores);
    }

    private void Probe(MLContext mlContext, ITransformer serving)
    {
        const int rows = 4;
        var features = new float[rows * FeatureCount];
        var random = new Random(1234);
        for (int i = FeatureCount; i < features.Length; i++)
            features[i] = (float)(random.NextDouble() * 16 - 4);   // row 0 all zeros; others spread over a pixel-like range
        var batch = new float[rows * OutputCount];
        var single = new float[OutputCount];
        try
        {
            ScoreBatch(features, batch);
            for (int r = 0; r < rows; r++)
            {
                ScoreRow(features.AsSpan(r * FeatureCount, FeatureCount), single);
                for (int o = 0; o < OutputCount; o++)
                {
                    if (!single[o].Equals(batch[r * OutputCount + o]))
                    {
                        throw new InvalidDataException(
                            $"probe row {r}: the PredictionEngine scores {single[o]} but the batch path scores {batch[r * OutputCount + o]} (output {o}).");
                    }
                }
            }
            if (_labels is not null)
            {
                // The engine's own PredictedLabel column, over the same rows, against the label derived from the batch scores.
                var probeRows = Enumerable.Range(0, rows).Select(r => new FeaturesRow { Features = features.AsSpan(r * FeatureCount, FeatureCount).ToArray() });
                byte[][] engineLabels = PredictedLabels.ReadColumn(serving.Transform(mlContext.Data.LoadFromEnumerable(probeRows, InputDefinition(FeatureCount))));
                for (int r = 0; r < rows; r++)
                {
                    byte[] derived = _labels.EngineJson(batch.AsSpan(r * OutputCount, OutputCount));
                    if (!engineLabels[r].AsSpan().SequenceEqual(derived))
                    {
                        throw new InvalidDataException($"probe row {r}: the PredictionEngine's PredictedLabel is {System.Text.Encoding.UTF8.GetString(engineLabels[r])} "
                            + $"but the scores give {System.Text.Encoding.UTF8.GetString(derived)}.");
                    }
                }
            }
        }
        catch (Exception e) when (e is not InvalidDataException and not OutOfMemoryException)
        {
            // The schema checks passed, so this is a step failing on actual values.
            throw new InvalidDataException($"the model cannot score rows that hold only 'Features' ({e.GetType().Name}: {Innermost(e).Message})", e);
        }
    }

    private static SchemaDefinition InputDefinition(int featureCount)
    {
        var definition = SchemaDefinition.Create(typeof(FeaturesRow));
        definition[nameof(FeaturesRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, featureCount);
        return definition;
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
            e = e.InnerException;
        return e;
    }

    /// <summary>A PredictionEngine with its own input row; used by one thread at a time (it comes from the pool).</summary>
    private abstract class RowScorer
    {
        protected readonly FeaturesRow Row;

        protected RowScorer(int featureCount) => Row = new FeaturesRow { Features = new float[featureCount] };

        public abstract void Score(ReadOnlySpan<float> features, Span<float> scores);
    }

    private sealed class VectorRowScorer(PredictionEngine<FeaturesRow, VectorScore> engine, int featureCount) : RowScorer(featureCount)
    {
        private VectorScore _output = new();

        public override void Score(ReadOnlySpan<float> features, Span<float> scores)
        {
            features.CopyTo(Row.Features);
            engine.Predict(Row, ref _output);
            _output.Score.AsSpan().CopyTo(scores);
        }
    }

    private sealed class ScalarRowScorer(PredictionEngine<FeaturesRow, ScalarScore> engine, int featureCount) : RowScorer(featureCount)
    {
        private ScalarScore _output = new();

        public override void Score(ReadOnlySpan<float> features, Span<float> scores)
        {
            features.CopyTo(Row.Features);
            engine.Predict(Row, ref _output);
            scores[0] = _output.Score;
        }
    }

    private sealed class RowScorerPolicy(ITransformer transformer, int featureCount, bool vectorScore) : IPooledObjectPolicy<RowScorer>
    {
        private readonly MLContext _mlContext = new(seed: 0);
        private readonly SchemaDefinition _input = InputDefinition(featureCount);
        private readonly object _createLock = new();

        public RowScorer Create()
        {
            // Rare (the pool keeps returned engines); serialized because engine creation walks shared ML.NET state.
            lock (_createLock)
            {
                return vectorScore
                    ? new VectorRowScorer(_mlContext.Model.CreatePredictionEngine<FeaturesRow, VectorScore>(transformer, inputSchemaDefinition: _input), featureCount)
                    : new ScalarRowScorer(_mlContext.Model.CreatePredictionEngine<FeaturesRow, ScalarScore>(transformer, inputSchemaDefinition: _input), featureCount);
            }
        }

        public bool Return(RowScorer obj) => true;
    }

    /// <summary>A PredictionEngine over the steps before the predictor: request features in, the predictor's features out.</summary>
    private sealed class PrefixScorer(PredictionEngine<FeaturesRow, TransformedFeatures> engine, int featureCount)
    {
        private readonly FeaturesRow _row = new() { Features = new float[featureCount] };
        private TransformedFeatures _output = new();

        /// <summary>Writes the transformed features and returns true when they are dense; false (nothing written) when sparse.</summary>
        public bool TryTransformDense(ReadOnlySpan<float> features, Span<float> transformed)
        {
            features.CopyTo(_row.Features);
            engine.Predict(_row, ref _output);
            if (_output.Features.Length != transformed.Length)
                throw new InvalidOperationException($"the steps before the predictor gave {_output.Features.Length} features, not {transformed.Length}.");
            if (!_output.Features.IsDense)
                return false;
            _output.Features.GetValues().CopyTo(transformed);
            return true;
        }
    }

    private sealed class PrefixScorerPolicy(ITransformer prefix, int featureCount) : IPooledObjectPolicy<PrefixScorer>
    {
        private readonly MLContext _mlContext = new(seed: 0);
        private readonly SchemaDefinition _input = InputDefinition(featureCount);
        private readonly object _createLock = new();

        public PrefixScorer Create()
        {
            lock (_createLock)
                return new PrefixScorer(_mlContext.Model.CreatePredictionEngine<FeaturesRow, TransformedFeatures>(prefix, inputSchemaDefinition: _input), featureCount);
        }

        public bool Return(PrefixScorer obj) => true;
    }

    private sealed class FeaturesRow
    {
        public float[] Features { get; set; } = Array.Empty<float>();
    }

    private sealed class VectorScore
    {
        public float[] Score { get; set; } = Array.Empty<float>();
    }

    private sealed class TransformedFeatures
    {
        public VBuffer<float> Features { get; set; }
    }

    private sealed class ScalarScore
    {
        public float Score { get; set; }
    }
}
