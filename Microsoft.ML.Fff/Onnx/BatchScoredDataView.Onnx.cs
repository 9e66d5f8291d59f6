using Microsoft.ML.Data;
using Microsoft.ML.Model.OnnxConverter;

namespace Microsoft.ML.Fff;

/// <summary>
/// ONNX export of the batch-scoring wrapper's output: it computes exactly what the wrapped prediction transformer's scorer
/// computes, so it exports as that scorer. Without this, ML.NET's converter stops walking back at this view (not a data
/// transform) and writes a graph that merely passes the view's columns through.
/// </summary>
internal sealed partial class BatchScoredDataView : ITransformCanSaveOnnx
{
    /// <summary>ML.NET's converter walks back from here to the prediction transformer's input.</summary>
    IDataView IDataTransform.Source => _source;

    /// <summary>Never called by ML.NET's converter; the wrapper is saved as a transformer (<see cref="FffBatchScoringTransformer"/>), not as a data view.</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => throw Onnx.UnsupportedOnnxSteps.BatchScoringViewSave();

    bool ICanSaveOnnx.CanSaveOnnx(OnnxContext ctx) => ScorerForOnnx is { } scorer && scorer.CanSaveOnnx(ctx);

    void ISaveAsOnnx.SaveAsOnnx(OnnxContext ctx)
    {
        ITransformCanSaveOnnx scorer = ScorerForOnnx ?? throw Onnx.UnsupportedOnnxSteps.BatchScoring();
        scorer.SaveAsOnnx(ctx);
    }

    /// <summary>ML.NET's scorer behind this view when it is one ONNX-savable step over the same input (always, for the trainers of this library).</summary>
    private ITransformCanSaveOnnx? ScorerForOnnx => _rowByRow is ITransformCanSaveOnnx scorer && ReferenceEquals(scorer.Source, _source) ? scorer : null;
}
