using System;
using System.Collections.Generic;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Runtime;

[assembly: LoadableClass(typeof(FffBatchScoringTransformer), null, typeof(SignatureLoadModel),
    "FFF batch scoring", FffBatchScoringTransformer.LoaderSignature)]

namespace Microsoft.ML.Fff;

/// <summary>
/// A fitted model whose <see cref="Transform"/> scores many rows at once with the grouped batch kernels: rows that reach the
/// same FFF leaf (or mixture-of-experts expert) are computed together, one blocked matrix multiply per group, spread over
/// the cores. Made by <see cref="FffCatalog.WithBatchScoring"/> from any fitted model whose pipeline contains one of
/// MlNetFff's trainers.
/// </summary>
/// <remarks>
/// <para>
/// ML.NET's prediction transformers hand a model one row at a time, so their <c>Transform</c> cannot group rows. This
/// transformer wraps the model and, for the prediction step, reads each block of rows ahead of the consumer (the input is
/// read twice, in step; it must return its rows in the same order each time, as ML.NET's data views do), scores the block
/// in one <see cref="FffModelParametersBase{TOutput}.ScoreBatch"/> call and serves the block's rows. The output has the
/// wrapped model's schema, and every value is bit-identical to the wrapped model's output; <c>Evaluate</c>, saving and
/// loading, and <c>PredictionEngine</c> (which scores one row at a time through the wrapped model) work as with the
/// wrapped model.
/// </para>
/// <para>
/// Grouping pays for wide models and large inputs (<c>docs/benchmarks.md</c>). Requests it cannot serve better (shuffled
/// cursors, cursors that need no score column) go through the wrapped model's own path.
/// </para>
/// </remarks>
public sealed class FffBatchScoringTransformer : ITransformer
{
    /// <summary>Default of <see cref="RowsPerBlock"/>.</summary>
    public const int DefaultRowsPerBlock = 4096;

    internal const string LoaderSignature = "FffBatchScoring";

    private readonly IHost _host;
    private readonly ITransformer[] _before;
    private readonly ISingleFeaturePredictionTransformer<object> _predictor;
    private readonly IFffScoringModel _model;
    private readonly ITransformer[] _after;
    private readonly float _threshold;
    private readonly string? _thresholdColumn;

    internal FffBatchScoringTransformer(IHostEnvironment env, ITransformer model, int rowsPerBlock)
    {
        Contracts.CheckValue(env, nameof(env));
        _host = env.Register(nameof(FffBatchScoringTransformer));
        _host.CheckValue(model, nameof(model));
        if (rowsPerBlock < 1)
            throw new ArgumentOutOfRangeException(nameof(rowsPerBlock), rowsPerBlock, "Rows per block must be at least 1 (default 4096).");
        Model = model;
        RowsPerBlock = rowsPerBlock;

        List<ITransformer> parts = ModelSteps.Flatten(model);
        int at = parts.FindLastIndex(ModelSteps.IsOurPredictor);
        if (at < 0)
        {
            throw new ArgumentException(
                "The model has no prediction step of an MlNetFff trainer (FastFeedForward, MixtureOfExperts or DenseFeedForward); "
                + "batch scoring groups the rows of those models only. Pass the model returned by Fit of a pipeline that contains one.", nameof(model));
        }
        _before = parts.GetRange(0, at).ToArray();
        _predictor = (ISingleFeaturePredictionTransformer<object>)parts[at];
        _model = (IFffScoringModel)_predictor.Model;
        _after = parts.GetRange(at + 1, parts.Count - at - 1).ToArray();
        (_threshold, _thresholdColumn) = ReadThreshold(_predictor);
    }

    /// <summary>The wrapped model: its <c>Transform</c> scores row by row, with the same results.</summary>
    public ITransformer Model { get; }

    /// <summary>Rows read ahead and scored per call (fewer when rows are very wide, to bound the buffer). At least 1.</summary>
    public int RowsPerBlock { get; }

    /// <summary>Whether the wrapped model can map single rows (it serves <c>PredictionEngine</c>).</summary>
    public bool IsRowToRowMapper => Model.IsRowToRowMapper;

    /// <summary>The output schema, which is the wrapped model's.</summary>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Model.GetOutputSchema(inputSchema);

    /// <summary>The wrapped model's row mapper: one row at a time is what the per-row path is built for.</summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => Model.GetRowToRowMapper(inputSchema);

    /// <summary>Scores <paramref name="input"/> lazily, a block of rows at a time; the result equals the wrapped model's.</summary>
    public IDataView Transform(IDataView input)
    {
        _host.CheckValue(input, nameof(input));
        IDataView data = input;
        foreach (ITransformer part in _before)
            data = part.Transform(data);
        IDataView rowByRow = _predictor.Transform(data);   // ML.NET's checks of the feature column come from here
        IDataView scored = new BatchScoredDataView(data, rowByRow, _model, _predictor.FeatureColumnName, RowsPerBlock, _threshold, _thresholdColumn);
        foreach (ITransformer part in _after)
            scored = part.Transform(scored);
        return scored;
    }

    /// <summary>Binary classification: the prediction transformer's threshold and the column it applies to; none otherwise.</summary>
    private const BindingFlags Flags = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

    private static (float Threshold, string? Column) ReadThreshold(ISingleFeaturePredictionTransformer<object> predictor)
    {
        Type type = predictor.GetType();
        if (!type.IsGenericType || type.GetGenericTypeDefinition() != typeof(BinaryPredictionTransformer<>))
            return (0, null);
        return ((float)Member(nameof(BinaryPredictionTransformer<object>.Threshold))!, (string?)Member(nameof(BinaryPredictionTransformer<object>.ThresholdColumn)));

        // Internal readonly fields in ML.NET 5 (the publicized reference shows them); properties too, in case that changes.
        object? Member(string name) => type.GetField(name, Flags) is { } field ? field.GetValue(predictor) : type.GetProperty(name, Flags)?.GetValue(predictor);
    }

    // *** Binary format ***
    // int: rows per block (at least 1)
    // sub-model "Model": the wrapped model
    //
    // Version history: 0x00010001 initial.
    private static VersionInfo GetVersionInfo() => new VersionInfo(
        modelSignature: "FFFBATCH",
        verWrittenCur: 0x00010001,
        verReadableCur: 0x00010001,
        verWeCanReadBack: 0x00010001,
        loaderSignature: LoaderSignature,
        loaderAssemblyName: typeof(FffBatchScoringTransformer).Assembly.FullName);

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        _host.CheckValue(ctx, nameof(ctx));
        ctx.CheckAtModel();
        ctx.SetVersionInfo(GetVersionInfo());
        ctx.Writer.Write(RowsPerBlock);
        ctx.SaveModel(Model, "Model");
    }

    /// <summary>Loads a saved instance (ML.NET's <c>SignatureLoadModel</c>).</summary>
    internal static FffBatchScoringTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        Contracts.CheckValue(env, nameof(env));
        env.CheckValue(ctx, nameof(ctx));
        ctx.CheckAtModel(GetVersionInfo());
        int rowsPerBlock = ctx.Reader.ReadInt32();
        if (rowsPerBlock < 1)
            throw Contracts.Mark(new System.IO.InvalidDataException($"Corrupt FFF batch scoring model: {rowsPerBlock} rows per block."));
        ctx.LoadModel<ITransformer, SignatureLoadModel>(env, out ITransformer model, "Model");
        return new FffBatchScoringTransformer(env, model, rowsPerBlock);
    }
}
