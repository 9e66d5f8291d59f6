using System;
using System.Collections.Generic;
using System.Numerics.Tensors;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Scoring;

namespace Microsoft.ML.Fff;

/// <summary>The same rows scored by the soft (training-time) forward pass and by hard descent (what the model serves).</summary>
/// <param name="MetricName">"Accuracy" for classification, "RSquared" for regression.</param>
/// <param name="SoftMetric">Metric of the soft forward pass.</param>
/// <param name="HardMetric">Metric of hard descent.</param>
/// <param name="Agreement">Fraction of rows where both passes predict the same class (classification), or 1 - mean |soft - hard| / label std (regression).</param>
/// <param name="RowCount">Rows compared.</param>
public sealed record FffSoftHardGap(string MetricName, double SoftMetric, double HardMetric, double Agreement, int RowCount)
{
    /// <summary><see cref="SoftMetric"/> minus <see cref="HardMetric"/>: what hard inference loses against the trained soft function.</summary>
    public double Gap => SoftMetric - HardMetric;
}

public sealed partial class FffCatalog
{
    /// <summary>
    /// Scores <paramref name="data"/> with the FFF model inside <paramref name="model"/> twice, softly and by hard descent,
    /// and compares both against the label. Pure C#; the soft pass touches every neuron, so use it for diagnostics only.
    /// Dense, mixture-of-experts and neuron-node FFF models train the function they score: both passes agree and the gap is 0.
    /// </summary>
    /// <param name="model">A fitted pipeline (or prediction transformer) that contains an FFF predictor.</param>
    /// <param name="data">Rows in the pipeline's input schema, with labels.</param>
    /// <param name="labelColumnName">Label column as the FFF trainer saw it (after any conversion earlier in the pipeline).</param>
    public FffSoftHardGap EvaluateSoftHardGap(ITransformer model, IDataView data, string labelColumnName = DefaultColumnNames.Label)
    {
        if (model is null)
            throw new ArgumentNullException(nameof(model));
        if (data is null)
            throw new ArgumentNullException(nameof(data));
        (ISingleFeaturePredictionTransformer<object> predictor, IDataView input) = FindPredictor(model, data);
        FeedForwardNetwork network = predictor.Model switch
        {
            FffModelParametersBase<float> scalar => scalar.Network,
            FffModelParametersBase<VBuffer<float>> vector => vector.Network,
            _ => throw new ArgumentException("The model's predictor is not an FFF model.", nameof(model)),
        };
        PredictionKind kind = ((IPredictor)predictor.Model).PredictionKind;
        DataViewSchema.Column features = input.Schema.GetColumnOrNull(predictor.FeatureColumnName)
            ?? throw new ArgumentException($"Column '{predictor.FeatureColumnName}' is not in the data as it reaches the FFF predictor.", nameof(data));
        DataViewSchema.Column label = input.Schema.GetColumnOrNull(labelColumnName)
            ?? throw new ArgumentException($"Label column '{labelColumnName}' is not in the data as it reaches the FFF predictor.", nameof(labelColumnName));

        int outputs = network.OutputCount;
        var softOut = new float[outputs];
        var hardOut = new float[outputs];
        // Kinds that train exactly what they score have no soft scorer, so their gap is 0.
        ISoftScorer? softScorer = NetworkKinds.Of(network).CreateSoftScorer(network);
        var dense = new float[network.InputCount];
        var labels = new List<double>();
        var soft = new List<double>();
        var hard = new List<double>();
        int agree = 0;
        using (DataViewRowCursor cursor = input.GetRowCursor(new[] { features, label }))
        {
            ValueGetter<VBuffer<float>> getFeatures = cursor.GetGetter<VBuffer<float>>(features);
            Func<double> getLabel = MakeLabelGetter(cursor, label, kind);
            VBuffer<float> row = default;
            while (cursor.MoveNext())
            {
                getFeatures(ref row);
                row.CopyTo(dense);
                if (softScorer != null)
                    softScorer.ScoreSoft(dense, softOut);
                else
                    network.Score(dense, softOut);
                network.Score(dense, hardOut);
                labels.Add(getLabel());
                double s = Predicted(softOut, kind), h = Predicted(hardOut, kind);
                soft.Add(kind == PredictionKind.Regression ? softOut[0] : s);
                hard.Add(kind == PredictionKind.Regression ? hardOut[0] : h);
                if (kind != PredictionKind.Regression && s == h)
                    agree++;
            }
        }
        if (labels.Count == 0)
            throw new ArgumentException("The data has no rows.", nameof(data));
        if (kind == PredictionKind.Regression)
        {
            double mean = 0, variance = 0, diff = 0;
            foreach (double y in labels)
                mean += y;
            mean /= labels.Count;
            foreach (double y in labels)
                variance += (y - mean) * (y - mean);
            for (int i = 0; i < labels.Count; i++)
                diff += Math.Abs(soft[i] - hard[i]);
            double std = Math.Sqrt(variance / labels.Count);
            return new FffSoftHardGap("RSquared", RSquared(labels, soft), RSquared(labels, hard),
                std > 0 ? 1 - diff / labels.Count / std : 1, labels.Count);
        }
        return new FffSoftHardGap("Accuracy", Accuracy(labels, soft), Accuracy(labels, hard), agree / (double)labels.Count, labels.Count);
    }

    private static (ISingleFeaturePredictionTransformer<object> Predictor, IDataView Input) FindPredictor(ITransformer model, IDataView data)
    {
        IDataView current = data;
        foreach (ITransformer step in ModelSteps.Flatten(model))
        {
            if (ModelSteps.IsOurPredictor(step))
                return ((ISingleFeaturePredictionTransformer<object>)step, current);
            current = step.Transform(current);
        }
        throw new ArgumentException("The model contains no FFF predictor (FastFeedForward trainer output).", nameof(model));
    }

    private static Func<double> MakeLabelGetter(DataViewRowCursor cursor, DataViewSchema.Column label, PredictionKind kind)
    {
        switch (kind)
        {
            case PredictionKind.BinaryClassification:
                {
                    ValueGetter<bool> get = cursor.GetGetter<bool>(label);
                    bool value = false;
                    return () => { get(ref value); return value ? 1 : 0; };
                }
            case PredictionKind.MulticlassClassification:
                {
                    ValueGetter<uint> get = cursor.GetGetter<uint>(label);
                    uint value = 0;
                    return () => { get(ref value); return value - 1.0; };
                }
            default:
                {
                    ValueGetter<float> get = cursor.GetGetter<float>(label);
                    float value = 0;
                    return () => { get(ref value); return value; };
                }
        }
    }

    private static double Predicted(float[] output, PredictionKind kind) => kind switch
    {
        PredictionKind.BinaryClassification => output[0] > 0 ? 1 : 0,
        PredictionKind.MulticlassClassification => TensorPrimitives.IndexOfMax(output),
        _ => output[0],
    };

    private static double Accuracy(List<double> labels, List<double> predicted)
    {
        int correct = 0;
        for (int i = 0; i < labels.Count; i++)
        {
            if (labels[i] == predicted[i])
                correct++;
        }
        return correct / (double)labels.Count;
    }

    private static double RSquared(List<double> labels, List<double> predicted)
    {
        double mean = 0;
        foreach (double y in labels)
            mean += y;
        mean /= labels.Count;
        double residual = 0, total = 0;
        for (int i = 0; i < labels.Count; i++)
        {
            residual += (labels[i] - predicted[i]) * (labels[i] - predicted[i]);
            total += (labels[i] - mean) * (labels[i] - mean);
        }
        return total > 0 ? 1 - residual / total : 0;
    }
}
