// Loads a saved MlNetFff model on a fresh MLContext and scores rows with pure C# - no libtorch anywhere.
//
//   dotnet run --project samples/FffScoringOnly -- [model.zip]
//       Scores the first rows of the embedded digits data with the model saved by samples/FffDigits
//       (default path artifacts/digits-fff.zip) and prints the predictions.
//   dotnet FffScoringOnly.dll score <model.zip> <rows.bin> <scores.bin>
//       Batch mode used by the tests: reads float rows, writes every float of the Score column (and Probability
//       when the model has one) bit for bit, so predictions can be compared across processes.
using System;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using Microsoft.ML;
using Microsoft.ML.Data;

if (args.Length == 4 && args[0] == "score")
    return ScoreFile(args[1], args[2], args[3]);

string modelPath = args.Length > 0 ? args[0] : Path.Combine("artifacts", "digits-fff.zip");
if (!File.Exists(modelPath))
{
    Console.Error.WriteLine($"No model at {modelPath}. Run `dotnet run --project samples/FffDigits -c Release` first (it saves one there), or pass a path.");
    return 2;
}
var mlContext = new MLContext();
ITransformer model = mlContext.Model.Load(modelPath, out DataViewSchema inputSchema);
IDataView rows = mlContext.Data.TakeRows(mlContext.Fff().SampleData.Digits(), 10);
var engine = mlContext.Model.CreatePredictionEngine<DigitRow, DigitPrediction>(model, inputSchema);
foreach (DigitRow row in mlContext.Data.CreateEnumerable<DigitRow>(rows, reuseRowObject: false))
{
    DigitPrediction prediction = engine.Predict(row);
    Console.WriteLine($"label {row.Label}  predicted {prediction.PredictedLabel}  p = {prediction.Score.Max():F3}");
}
Console.WriteLine($"libtorch loaded in this process: {(LibtorchLoaded() ? "yes" : "no")}");
return LibtorchLoaded() ? 1 : 0;

static int ScoreFile(string modelPath, string rowsPath, string scoresPath)
{
    var mlContext = new MLContext();
    ITransformer model = mlContext.Model.Load(modelPath, out _);
    float[][] features = ReadRows(rowsPath);
    int width = features[0].Length;
    var definition = SchemaDefinition.Create(typeof(VectorRow));
    definition[nameof(VectorRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
    IDataView data = mlContext.Data.LoadFromEnumerable(features.Select(f => new VectorRow { Features = f }), definition);
    IDataView scored = model.Transform(data);
    using var output = new BinaryWriter(File.Create(scoresPath));
    foreach (string name in new[] { "Score", "Probability" })
    {
        if (scored.Schema.GetColumnOrNull(name) is not DataViewSchema.Column column)
            continue;
        using DataViewRowCursor cursor = scored.GetRowCursor(new[] { column });
        if (column.Type is VectorDataViewType)
        {
            ValueGetter<VBuffer<float>> get = cursor.GetGetter<VBuffer<float>>(column);
            VBuffer<float> value = default;
            while (cursor.MoveNext())
            {
                get(ref value);
                foreach (float f in value.DenseValues())
                    output.Write(f);
            }
        }
        else
        {
            ValueGetter<float> get = cursor.GetGetter<float>(column);
            float value = 0;
            while (cursor.MoveNext())
            {
                get(ref value);
                output.Write(value);
            }
        }
    }
    if (LibtorchLoaded())
    {
        Console.Error.WriteLine("libtorch was loaded while scoring; the scoring path must not touch it.");
        return 1;
    }
    return 0;
}

// Row file: int32 row count, int32 width, then row-major float32 values.
static float[][] ReadRows(string path)
{
    using var reader = new BinaryReader(File.OpenRead(path));
    int count = reader.ReadInt32(), width = reader.ReadInt32();
    var rows = new float[count][];
    for (int r = 0; r < count; r++)
    {
        rows[r] = new float[width];
        for (int c = 0; c < width; c++)
            rows[r][c] = reader.ReadSingle();
    }
    return rows;
}

// On Linux the loaded shared objects are listed in /proc/self/maps; elsewhere ask the module list.
static bool LibtorchLoaded()
{
    if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        return File.ReadAllText("/proc/self/maps").Contains("libtorch", StringComparison.OrdinalIgnoreCase);
    return System.Diagnostics.Process.GetCurrentProcess().Modules.Cast<System.Diagnostics.ProcessModule>()
        .Any(m => m.ModuleName.Contains("torch", StringComparison.OrdinalIgnoreCase));
}

internal sealed class VectorRow
{
    public float[] Features { get; set; } = Array.Empty<float>();
}

internal sealed class DigitRow
{
    [VectorType(64)]
    public float[] Features { get; set; } = Array.Empty<float>();

    public float Label { get; set; }
}

internal sealed class DigitPrediction
{
    public float PredictedLabel { get; set; }

    public float[] Score { get; set; } = Array.Empty<float>();
}
