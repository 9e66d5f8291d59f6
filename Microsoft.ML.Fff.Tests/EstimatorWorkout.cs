using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using Microsoft.ML.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>
/// A reusable check that an estimator behaves like an ML.NET citizen: schema propagation matches what fitting produces,
/// bad input schemas throw clear exceptions, and the fitted model saves, loads on a fresh MLContext, evaluates, and
/// scores bit-identically in a separate process that has no libtorch.
/// </summary>
internal static class EstimatorWorkout
{
    /// <param name="estimator">The estimator under test (may be a chain ending in a trainer).</param>
    /// <param name="data">Training data with a Features vector column.</param>
    /// <param name="expectedOutputs">Columns the estimator must add.</param>
    /// <param name="evaluate">Runs the task's built-in Evaluate on scored data (must not throw).</param>
    public static ITransformer Run(IEstimator<ITransformer> estimator, IDataView data, string[] expectedOutputs, Action<MLContext, IDataView> evaluate)
    {
        var mlContext = new MLContext(seed: 1);

        // Schema propagation: the promised shape matches what the fitted model produces.
        SchemaShape promised = estimator.GetOutputSchema(ShapeOf(data.Schema));
        ITransformer model = estimator.Fit(data);
        IDataView scored = model.Transform(data);
        foreach (string name in expectedOutputs)
        {
            SchemaShape.Column shape = promised.SingleOrDefault(c => c.Name == name);
            Assert.AreEqual(name, shape.Name, $"GetOutputSchema lacks {name}");
            DataViewSchema.Column? actual = scored.Schema.GetColumnOrNull(name);
            Assert.IsNotNull(actual, $"Transform output lacks {name}");
            Assert.AreEqual(shape.Kind == SchemaShape.Column.VectorKind.Scalar, actual.Value.Type is not VectorDataViewType, $"{name}: scalar/vector mismatch");
            Assert.AreEqual(shape.ItemType.RawType, ItemType(actual.Value.Type).RawType, $"{name}: item type mismatch");
            Assert.AreEqual(shape.IsKey, ItemType(actual.Value.Type) is KeyDataViewType, $"{name}: key mismatch");
        }
        Assert.AreEqual(scored.Schema.Count, model.GetOutputSchema(data.Schema).Count, "GetOutputSchema of the model differs from Transform");

        // Bad input: no feature column, and a feature column of the wrong type.
        IDataView noFeatures = mlContext.Transforms.DropColumns("Features").Fit(data).Transform(data);
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(noFeatures));
        StringAssert.Contains(missing.Message, "Features");
        IDataView doubleFeatures = mlContext.Transforms.Conversion.ConvertType("Features", outputKind: DataKind.Double).Fit(data).Transform(data);
        var wrongType = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(doubleFeatures));
        StringAssert.Contains(wrongType.Message, "Features");

        // Save, load on a fresh context, evaluate: the loaded model gives the same scores.
        float[] expected = ReadScores(scored);
        var stream = new MemoryStream();
        mlContext.Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        var fresh = new MLContext(seed: 2);
        ITransformer loaded = fresh.Model.Load(stream, out _);
        IDataView rescored = loaded.Transform(data);
        CollectionAssert.AreEqual(Bits(expected), Bits(ReadScores(rescored)), "in-process reload changed the scores");
        evaluate(fresh, rescored);

        // A separate process (no libtorch, fresh MLContext) loads the prediction transformer and scores bit-identically.
        ITransformer predictor = model is IEnumerable<ITransformer> chain ? chain.Last() : model;
        IDataView predictorInput = model is IEnumerable<ITransformer> steps
            ? steps.Take(steps.Count() - 1).Aggregate(data, (d, t) => t.Transform(d))
            : data;
        string directory = Directory.CreateTempSubdirectory("fff-workout-").FullName;
        try
        {
            string modelPath = Path.Combine(directory, "model.zip");
            mlContext.Model.Save(predictor, predictorInput.Schema, modelPath);
            string rowsPath = Path.Combine(directory, "rows.bin");
            WriteRows(predictorInput, rowsPath);
            string scoresPath = Path.Combine(directory, "scores.bin");
            RunScoringApp(modelPath, rowsPath, scoresPath);
            float[] separate = ReadFloats(scoresPath);
            CollectionAssert.AreEqual(Bits(ReadScores(predictor.Transform(predictorInput))), Bits(separate),
                "scores from a separate process differ from in-process scores");
        }
        finally
        {
            if (Environment.GetEnvironmentVariable("FFF_KEEP_WORKOUT") is null)
                Directory.Delete(directory, recursive: true);
        }
        return model;
    }

    // SchemaShape.Create is internal to ML.NET; a plain consumer reaches it only by reflection.
    internal static SchemaShape ShapeOf(DataViewSchema schema) => (SchemaShape)typeof(SchemaShape)
        .GetMethod("Create", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic, new[] { typeof(DataViewSchema) })!
        .Invoke(null, new object[] { schema })!;

    private static DataViewType ItemType(DataViewType type) => type is VectorDataViewType vector ? vector.ItemType : type;

    /// <summary>Every float of Score, then of Probability when present (the scoring app's order).</summary>
    public static float[] ReadScores(IDataView scored)
    {
        var values = new List<float>();
        foreach (string name in new[] { "Score", "Probability" })
        {
            if (scored.Schema.GetColumnOrNull(name) is not DataViewSchema.Column column)
                continue;
            if (column.Type is VectorDataViewType)
            {
                foreach (VBuffer<float> v in scored.GetColumn<VBuffer<float>>(column))
                    values.AddRange(v.DenseValues());
            }
            else
            {
                values.AddRange(scored.GetColumn<float>(column));
            }
        }
        return values.ToArray();
    }

    public static int[] Bits(float[] values) => values.Select(BitConverter.SingleToInt32Bits).ToArray();

    private static void WriteRows(IDataView data, string path)
    {
        // GetColumn reuses one VBuffer buffer across rows: copy each row while enumerating.
        float[][] rows = data.GetColumn<VBuffer<float>>("Features").Select(v => v.DenseValues().ToArray()).ToArray();
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(rows.Length);
        writer.Write(rows[0].Length);
        foreach (float[] row in rows)
        {
            foreach (float value in row)
                writer.Write(value);
        }
    }

    private static float[] ReadFloats(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        var values = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
        return values;
    }

    private static void RunScoringApp(string modelPath, string rowsPath, string scoresPath)
    {
        string app = typeof(EstimatorWorkout).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "ScoringOnlyApp").Value!;
        Assert.IsTrue(File.Exists(app), $"The scoring-only app was not built at {app}");
        string appDirectory = Path.GetDirectoryName(app)!;
        Assert.IsFalse(Directory.EnumerateFiles(appDirectory, "*torch*.so", SearchOption.AllDirectories).Any()
                       || Directory.EnumerateFiles(appDirectory, "*torch*.dll", SearchOption.AllDirectories).Any(f => !Path.GetFileName(f).Equals("TorchSharp.dll", StringComparison.Ordinal)),
            "the scoring-only app's output must not contain libtorch");
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { app, "score", modelPath, rowsPath, scoresPath })
            start.ArgumentList.Add(argument);
        using Process process = Process.Start(start)!;
        string stdout = process.StandardOutput.ReadToEnd();
        string stderr = process.StandardError.ReadToEnd();
        Assert.IsTrue(process.WaitForExit(300_000), "the scoring app hung");
        Assert.AreEqual(0, process.ExitCode, $"the scoring app failed: {stdout}{stderr}");
    }
}
