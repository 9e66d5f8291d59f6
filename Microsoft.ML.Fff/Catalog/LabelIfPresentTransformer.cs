using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Runtime;

[assembly: LoadableClass(typeof(LabelIfPresentTransformer), null, typeof(SignatureLoadModel),
    "FFF label if present", LabelIfPresentTransformer.LoaderSignature)]

namespace Microsoft.ML.Fff;

/// <summary>
/// Fits <see cref="Inner"/> (the label conversion of <see cref="FffCatalog.Train"/>) on training data, which has the label.
/// </summary>
internal sealed class LabelIfPresentEstimator : IEstimator<ITransformer>
{
    private readonly IHostEnvironment _env;
    private readonly string _column;

    public LabelIfPresentEstimator(IHostEnvironment env, string column, IEstimator<ITransformer> inner)
    {
        _env = env;
        _column = column;
        Inner = inner;
    }

    public IEstimator<ITransformer> Inner { get; }

    public ITransformer Fit(IDataView input) => new LabelIfPresentTransformer(_env, _column, Inner.Fit(input));

    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        => inputSchema.TryFindColumn(_column, out _) ? Inner.GetOutputSchema(inputSchema) : inputSchema;
}

/// <summary>
/// Applies the fitted label conversion only when the data has the label column, and passes data through unchanged otherwise.
/// Why: the conversion happens in place (so evaluators find the converted label in the scored output), but a model must also
/// score rows that have no label at all; nothing after this step reads the label at scoring time.
/// </summary>
internal sealed class LabelIfPresentTransformer : ITransformer
{
    internal const string LoaderSignature = "FffLabelIfPresent";

    private readonly IHost _host;
    private readonly string _column;
    private readonly ITransformer _inner;

    internal LabelIfPresentTransformer(IHostEnvironment env, string column, ITransformer inner)
    {
        Contracts.CheckValue(env, nameof(env));
        _host = env.Register(nameof(LabelIfPresentTransformer));
        _column = column;
        _inner = inner;
    }

    public bool IsRowToRowMapper => _inner.IsRowToRowMapper;

    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
        => Has(inputSchema) ? _inner.GetOutputSchema(inputSchema) : inputSchema;

    // An empty chain is ML.NET's identity mapper (a composite of no mappers over the input schema).
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
        => Has(inputSchema) ? _inner.GetRowToRowMapper(inputSchema) : ((ITransformer)new TransformerChain<ITransformer>()).GetRowToRowMapper(inputSchema);

    public IDataView Transform(IDataView input)
    {
        _host.CheckValue(input, nameof(input));
        return Has(input.Schema) ? _inner.Transform(input) : input;
    }

    private bool Has(DataViewSchema schema) => schema.GetColumnOrNull(_column) is { IsHidden: false };

    // *** Binary format ***
    // string: the label column's name
    // sub-model "Inner": the label conversion
    //
    // Version history: 0x00010001 initial.
    private static VersionInfo GetVersionInfo() => new VersionInfo(
        modelSignature: "FFFLABIF",
        verWrittenCur: 0x00010001,
        verReadableCur: 0x00010001,
        verWeCanReadBack: 0x00010001,
        loaderSignature: LoaderSignature,
        loaderAssemblyName: typeof(LabelIfPresentTransformer).Assembly.FullName);

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        _host.CheckValue(ctx, nameof(ctx));
        ctx.CheckAtModel();
        ctx.SetVersionInfo(GetVersionInfo());
        ctx.Writer.Write(_column);
        ctx.SaveModel(_inner, "Inner");
    }

    /// <summary>Loads a saved instance (ML.NET's <c>SignatureLoadModel</c>).</summary>
    internal static LabelIfPresentTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        Contracts.CheckValue(env, nameof(env));
        env.CheckValue(ctx, nameof(ctx));
        ctx.CheckAtModel(GetVersionInfo());
        string column = ctx.Reader.ReadString();
        if (string.IsNullOrEmpty(column))
            throw Contracts.Mark(new System.IO.InvalidDataException("Corrupt FFF label step: empty label column name."));
        ctx.LoadModel<ITransformer, SignatureLoadModel>(env, out ITransformer inner, "Inner");
        return new LabelIfPresentTransformer(env, column, inner);
    }
}
