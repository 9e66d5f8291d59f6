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
}
