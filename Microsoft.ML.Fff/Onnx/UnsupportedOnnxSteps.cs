using System;

namespace Microsoft.ML.Fff.Onnx;

/// <summary>
/// The messages of the pipeline steps of this library that cannot be written to ONNX. They take part in ML.NET's export
/// (they say they can save themselves) only to throw a <see cref="NotSupportedException"/> that names the step: otherwise
/// ML.NET's converter stops its walk back through the pipeline at them and fails later with a generic message.
/// </summary>
internal static class UnsupportedOnnxSteps
{
    /// <summary>The token bag (<c>mlContext.Fff().TokenizeToBag</c>): the Tiktoken tokenizer has no ONNX operator.</summary>
    public static NotSupportedException TokenBag(string outputColumn, string inputColumn) => new(
        $"The TokenBag step (mlContext.Fff().TokenizeToBag, '{inputColumn}' -> '{outputColumn}') cannot be exported to ONNX: its Tiktoken "
        + "tokenizer has no ONNX operator. Export the steps after it instead (ConvertToOnnx on the rest of the pipeline, with the token-bag "
        + "output as the input data) and compute the token bag in .NET; see docs/onnx.md.");

    /// <summary>
    /// The batch-scoring wrapper (<c>mlContext.Fff().WithBatchScoring</c>) exports as the scorer it wraps; this is for a
    /// wrapped scorer that is not one ONNX-savable step (not produced by this library's trainers).
    /// </summary>
    public static NotSupportedException BatchScoring() => new(
        "The FffBatchScoringTransformer (mlContext.Fff().WithBatchScoring) wraps a scorer that cannot be exported to ONNX: export the model "
        + "it wraps (its Model property) instead. See docs/onnx.md.");

    /// <summary>The batch-scoring view is a data view of ML.NET's legacy data-transform kind only for the ONNX converter.</summary>
    public static NotSupportedException BatchScoringViewSave() => new(
        "The output of FffBatchScoringTransformer cannot be saved as a legacy ML.NET data transform; save the transformer (mlContext.Model.Save).");
}
