using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;

namespace FffServing;

/// <summary>
/// The steps of a saved pipeline that score rows holding only <c>Features</c>. Requests carry nothing else, so a step that
/// cannot run on such rows is left out when all it does is write columns that nothing kept reads: the usual case is the
/// training pipeline's <c>MapValueToKey("Label")</c>, whose key label prediction never reads (the predictor keeps its own
/// copy of the label names for <c>PredictedLabel</c>). We leave such steps out rather than feed them made-up defaults
/// (an empty or NaN Label), because then no invented value flows anywhere, and the check below is exact: a left-out
/// step may not write a column that the rows already have (<c>Features</c>), and any later step that needed its output
/// fails to build, so the file is refused naming the column the service does not take.
/// </summary>
internal sealed record ServingPipeline(ITransformer[] Kept, int PredictorPosition, DataViewSchema PredictorInput, DataViewSchema PredictorOutput,
    DataViewSchema Output, string[] LeftOut)
{
    private const string OnlyFeatures = "the model cannot score rows that hold only 'Features'";

    public static ServingPipeline Build(ITransformer[] steps, int predictorIndex, DataViewSchema inputSchema, DataViewSchema.Column features)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn("Features", features.Type, features.Annotations);
        DataViewSchema current = builder.ToSchema();
        DataViewSchema.Column[] absent = inputSchema.Where(c => !c.IsHidden && c.Name != "Features").ToArray();
        var kept = new List<ITransformer>();
        var leftOut = new List<string>();
        int predictorPosition = -1;
        DataViewSchema? predictorInput = null, predictorOutput = null;
        for (int i = 0; i < steps.Length; i++)
        {
            ITransformer step = steps[i];
            Exception? failure = TryOutput(step, current, out DataViewSchema? next);
            if (failure is null)
            {
                if (i == predictorIndex)
                    (predictorPosition, predictorInput, predictorOutput) = (kept.Count, current, next);
                kept.Add(step);
                current = next!;
                continue;
            }
            string name = $"step {i + 1} of {steps.Length} ({ShortName(step)})";
            DataViewSchema withAbsent = With(current, absent);
            if (i == predictorIndex || TryOutput(step, withAbsent, out DataViewSchema? full) is not null)
            {
                string note = leftOut.Count == 0 ? "" : $"; left out before it, since they need columns the service does not take: {string.Join("; ", leftOut)}";
                throw new InvalidDataException($"{OnlyFeatures}: {name} fails ({Innermost(failure).Message}){note}.");
            }
            string[] needs = absent.Where(c => TryOutput(step, With(current, new[] { c }), out _) is null).Select(c => c.Name).ToArray();
            string needed = string.Join(", ", (needs.Length > 0 ? needs : absent.Select(c => c.Name)).Select(n => $"'{n}'"));
            // A column the step writes gets a new index; one the rows already have (Features) would change what later steps read.
            string? rewritten = full!.Where(c => !c.IsHidden && withAbsent.GetColumnOrNull(c.Name)?.Index != c.Index)
                .Select(c => c.Name).FirstOrDefault(n => current.GetColumnOrNull(n) is not null);
            if (rewritten is not null)
                throw new InvalidDataException($"{OnlyFeatures}: {name} computes '{rewritten}' from {needed}, and the service only takes 'Features'.");
            leftOut.Add($"{name} needs {needed}");
        }
        if (current.GetColumnOrNull("Score") is null)
            throw new InvalidDataException($"{OnlyFeatures}: the pipeline's output has no 'Score' column.");
        return new ServingPipeline(kept.ToArray(), predictorPosition, predictorInput!, predictorOutput!, current, leftOut.ToArray());
    }

    private static Exception? TryOutput(ITransformer step, DataViewSchema input, out DataViewSchema? output)
    {
        try
        {
            output = step.GetOutputSchema(input);
            return null;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A missing or mistyped input column: ML.NET throws several exception types for it; the caller reports the message.
            output = null;
            return e;
        }
    }

    private static DataViewSchema With(DataViewSchema schema, IEnumerable<DataViewSchema.Column> columns)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(schema);
        foreach (DataViewSchema.Column column in columns)
            builder.AddColumn(column.Name, column.Type, column.Annotations);
        return builder.ToSchema();
    }

    private static string ShortName(ITransformer step)
    {
        string name = step.GetType().Name;
        int tick = name.IndexOf('`');
        return tick < 0 ? name : name[..tick];
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
            e = e.InnerException;
        return e;
    }
}
