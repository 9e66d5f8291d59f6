using System;
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

    private ModelGeneration(long id, string version, ITransformer transformer, FffModelParametersBase<float>? scalar,
        FffModelParametersBase<VBuffer<float>>? vector, int featureCount, int outputCount)
    {
        Id = id;
        Version = version;
        _scalarModel = scalar;
        _vectorModel = vector;
        FeatureCount = featureCount;
        OutputCount = outputCount;
        Architecture = (scalar?.Architecture ?? vector!.Architecture).ToString();
        // Engines are created lazily, one per concurrently scoring thread; a returned engine is reused by the next request.
        _engines = new DefaultObjectPool<RowScorer>(new RowScorerPolicy(transformer, featureCount, vector is not null),
            Environment.ProcessorCount * 4);
    }

    /// <summary>Increases by one with every model that was loaded successfully (1 = the model the service started with).</summary>
    public long Id { get; }

    /// <summary>The first 16 hex digits of the SHA-256 of the model file: clients can tell which file scored them.</summary>
    public string Version { get; }

    /// <summary>When the load finished (set once, before the generation is published).</summary>
    public DateTimeOffset LoadedAt { get; private set; }

    /// <summary>Load, checks and probe, in milliseconds.</summary>
    public double LoadMilliseconds { get; private set; }

    public int FeatureCount { get; }

    public int OutputCount { get; }

    /// <summary>True when the Score column is a vector (multiclass), false for a single value (binary, regression).</summary>
    public bool HasVectorScore => _vectorModel is not null;

    public string Architecture { get; }

    /// <summary>The version string of a model file's bytes.</summary>
    public static string VersionOf(ReadOnlySpan<byte> modelBytes) => Convert.ToHexStringLower(SHA256.HashData(modelBytes))[..16];

    /// <summary>
    /// Loads a model from its file bytes and checks that it can be served: a <c>Features</c> vector input of known size, one
    /// of our trainers as the predictor, a PredictionEngine that accepts rows holding only <c>Features</c>, and the batch path
    /// giving the PredictionEngine's scores bit for bit on probe rows (which fails when a step before the trainer rewrites
    /// <c>Features</c>, since ScoreBatch sees the raw features). Throws <see cref="InvalidDataException"/> naming the problem.
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

        ISingleFeaturePredictionTransformer<object>? predictor = (transformer is TransformerChain<ITransformer> chain ? chain.AsEnumerable() : new[] { transformer })
            .OfType<ISingleFeaturePredictionTransformer<object>>().LastOrDefault();
        var scalar = predictor?.Model as FffModelParametersBase<float>;
        var vector = predictor?.Model as FffModelParametersBase<VBuffer<float>>;
        if (scalar is null && vector is null)
            throw new InvalidDataException("the model has no FFF, MoE or dense predictor (Microsoft.ML.Fff) to score with.");
        if (predictor!.FeatureColumnName != "Features")
            throw new InvalidDataException($"the predictor reads column '{predictor.FeatureColumnName}', not 'Features'.");
        int modelFeatures = scalar?.FeatureCount ?? vector!.FeatureCount;
        if (modelFeatures != featureCount)
            throw new InvalidDataException($"the input schema has {featureCount} features but the predictor takes {modelFeatures}.");
        int outputCount = scalar?.OutputCount ?? vector!.OutputCount;

        var generation = new ModelGeneration(id, VersionOf(modelBytes), transformer, scalar, vector, featureCount, outputCount);
        generation.Probe();
        generation.LoadMilliseconds = clock.Elapsed.TotalMilliseconds;
        generation.LoadedAt = DateTimeOffset.UtcNow;
        return generation;
    }

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

    /// <summary>Scores row-major rows with the model parameters' grouped batch path (thread-safe, shared by all requests).</summary>
    public void ScoreBatch(ReadOnlySpan<float> features, Span<float> scores)
    {
        if (_vectorModel is not null)
            _vectorModel.ScoreBatch(features, scores);
        else
            _scalarModel!.ScoreBatch(features, scores);
    }

    private void Probe()
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
                            $"probe row {r}: the PredictionEngine scores {single[o]} but ScoreBatch scores {batch[r * OutputCount + o]} (output {o}); "
                            + "a step before the trainer probably changes 'Features', which the batch path cannot apply.");
                    }
                }
            }
        }
        catch (Exception e) when (e is not InvalidDataException and not OutOfMemoryException)
        {
            // Typically a pipeline step that needs an input column other than Features (a Label mapping, say).
            throw new InvalidDataException($"the model cannot score rows that hold only 'Features' ({e.GetType().Name}: {Innermost(e).Message})", e);
        }
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

        private static SchemaDefinition InputDefinition(int featureCount)
        {
            var definition = SchemaDefinition.Create(typeof(FeaturesRow));
            definition[nameof(FeaturesRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, featureCount);
            return definition;
        }
    }

    private sealed class FeaturesRow
    {
        public float[] Features { get; set; } = Array.Empty<float>();
    }

    private sealed class VectorScore
    {
        public float[] Score { get; set; } = Array.Empty<float>();
    }

    private sealed class ScalarScore
    {
        public float Score { get; set; }
    }
}
