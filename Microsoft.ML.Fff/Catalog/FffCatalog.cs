namespace Microsoft.ML.Fff;

/// <summary>MlNetFff's catalog, reached through <c>mlContext.Fff()</c>.</summary>
public sealed partial class FffCatalog
{
    internal FffCatalog(MLContext mlContext)
    {
        Context = mlContext;
        SampleData = new FffSampleData(mlContext);
    }

    internal MLContext Context { get; }

    /// <summary>Small real data sets embedded in the library (digits, breast cancer, diabetes).</summary>
    public FffSampleData SampleData { get; }

    /// <summary>
    /// Wraps a fitted model so that its <c>Transform</c> scores blocks of rows with the grouped batch kernels (rows that
    /// reach the same FFF leaf or mixture-of-experts expert are computed together, spread over the cores) instead of one
    /// row at a time. The results are bit-identical; saving, loading and <c>PredictionEngine</c> work as before.
    /// </summary>
    /// <param name="model">A fitted model whose pipeline contains one of MlNetFff's trainers (any steps before and after it).</param>
    /// <param name="rowsPerBlock">Rows read ahead and scored per call. Default <see cref="FffBatchScoringTransformer.DefaultRowsPerBlock"/>; at least 1.</param>
    /// <exception cref="System.ArgumentException">The model has no prediction step of an MlNetFff trainer.</exception>
    public FffBatchScoringTransformer WithBatchScoring(ITransformer model, int rowsPerBlock = FffBatchScoringTransformer.DefaultRowsPerBlock)
        => new(Context, model, rowsPerBlock);
}
