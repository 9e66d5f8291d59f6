// Trains, saves and reloads one model per task (binary, multiclass, regression) through the MlNetFff package, then
// checks that the reloaded model scores exactly as the trained one and that each model learned something.
//   dotnet ConsumerCheck.dll [folder for the saved models]
// Exit code 0 when every task passes, 1 otherwise.
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;

string folder = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), $"mlnetfff-consumer-{Environment.ProcessId}");
Directory.CreateDirectory(folder);
var mlContext = new MLContext(seed: 0);
FffSampleData samples = mlContext.Fff().SampleData;
int failures = 0;

// Binary: breast cancer (Boolean label).
failures += Check("binary", samples.BreastCancer(),
    mlContext.BinaryClassification.Trainers.FastFeedForward(depth: 2, leafWidth: 8, numberOfEpochs: 10),
    scored => mlContext.BinaryClassification.Evaluate(scored).Accuracy, "accuracy", minimum: 0.85);

// Multiclass: digits, as in the README (key label in, original label out).
failures += Check("multiclass", samples.Digits(),
    mlContext.Transforms.Conversion.MapValueToKey("Label")
        .Append(mlContext.MulticlassClassification.Trainers.FastFeedForward(depth: 3, leafWidth: 16, numberOfEpochs: 10))
        .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel")),
    scored => mlContext.MulticlassClassification.Evaluate(scored).MicroAccuracy, "micro-accuracy", minimum: 0.80);

// Regression: diabetes (Single label).
failures += Check("regression", samples.Diabetes(),
    mlContext.Regression.Trainers.FastFeedForward(depth: 2, leafWidth: 8, numberOfEpochs: 20),
    scored => mlContext.Regression.Evaluate(scored).RSquared, "R^2", minimum: 0.10);

Console.WriteLine(failures == 0 ? "consumer check: all 3 tasks passed" : $"consumer check: {failures} of 3 tasks failed");
return failures == 0 ? 0 : 1;

int Check(string task, IDataView data, IEstimator<ITransformer> pipeline, Func<IDataView, double> metric, string metricName, double minimum)
{
    var split = mlContext.Data.TrainTestSplit(data, testFraction: 0.2, seed: 0);
    ITransformer model = pipeline.Fit(split.TrainSet);
    string path = Path.Combine(folder, $"{task}.zip");
    mlContext.Model.Save(model, split.TrainSet.Schema, path);

    // A fresh MLContext, as a scoring service would have: the model must load with no registration call.
    var fresh = new MLContext(seed: 1);
    ITransformer loaded = fresh.Model.Load(path, out _);
    float[] before = Scores(model.Transform(split.TestSet));
    float[] after = Scores(loaded.Transform(split.TestSet));
    double value = metric(loaded.Transform(split.TestSet));
    bool same = before.AsSpan().SequenceEqual(after);
    bool learned = value >= minimum;
    Console.WriteLine($"{task,-10} {metricName} {value:F3} (minimum {minimum:F2}); reloaded model scores {(same ? "identical" : "DIFFERENT")} " +
                      $"on {before.Length} values; saved {path} ({new FileInfo(path).Length} bytes)");
    return same && learned ? 0 : 1;
}

static float[] Scores(IDataView scored)
{
    DataViewSchema.Column column = scored.Schema["Score"];
    var values = new List<float>();
    using DataViewRowCursor cursor = scored.GetRowCursor(new[] { column });
    if (column.Type is VectorDataViewType)
    {
        ValueGetter<VBuffer<float>> get = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> value = default;
        while (cursor.MoveNext())
        {
            get(ref value);
            values.AddRange(value.DenseValues());
        }
    }
    else
    {
        ValueGetter<float> get = cursor.GetGetter<float>(column);
        float value = 0;
        while (cursor.MoveNext())
        {
            get(ref value);
            values.Add(value);
        }
    }
    return values.ToArray();
}
