using System;
using Microsoft.ML.Fff.Dense;
using Microsoft.ML.Fff.InputStages;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Training;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>
/// Knowledge distillation for FFF (<see cref="FastFeedForwardOptionsBase.DistillationTeacherWidth"/>): a dense teacher is
/// trained first with the FFF's own settings, and its outputs for every training row become a second training target.
/// The leaves of a deep FFF each see a small region of the data and overfit their hard labels; the teacher's soft
/// predictions carry what it learned from all of the data.
/// </summary>
internal static class Distillation
{
    private const int ScoreBlockRows = 256;

    /// <summary>
    /// Trains the teacher and returns its raw outputs (logits, or the predicted value for regression) for every row of the
    /// in-memory training table, row-major <c>[rows, outputs]</c>.
    /// </summary>
    public static float[] TeacherOutputs(IChannel ch, FastFeedForwardOptionsBase options, TrainingData train, TrainingData? valid, LabelKind kind, int seed)
    {
        TrainingTable table = train.InMemory
            ?? throw ch.Except($"Distillation (DistillationTeacherWidth = {options.DistillationTeacherWidth}) needs the training data in memory, but it is " +
                $"larger than InMemoryLimitMegabytes ({options.InMemoryLimitMegabytes}); raise that option or turn distillation off.");
        var teacherOptions = new TeacherOptions(options);
        ch.Info($"FFF distillation: training a dense teacher of width {options.DistillationTeacherWidth} first.");
        var session = new FeedForwardTrainingSession(ch, teacherOptions,
            InputStageArchitecture.Wrap(ch, new DenseArchitecture(teacherOptions), teacherOptions, train, seed), train, valid, kind, seed);
        (FeedForwardNetwork teacher, FffTrainingReport report) = session.Run();
        ch.Info($"FFF distillation: teacher {report.Final.MetricName} {report.Final.HardMetric:F4} after {report.Duration.TotalSeconds:F1}s.");

        int rows = table.RowCount, inputs = table.FeatureCount, outputs = teacher.OutputCount;
        var result = new float[(long)rows * outputs];
        if (table.IsSparse)
        {
            // Row by row: a dense block of a wide sparse table could take gigabytes.
            for (int r = 0; r < rows; r++)
            {
                long from = table.RowStart[r], to = table.RowStart[r + 1];
                teacher.Score(table.Indices.AsSpan((int)from, (int)(to - from)), table.Values.AsSpan((int)from, (int)(to - from)), result.AsSpan(r * outputs, outputs));
            }
            return result;
        }
        var block = new float[ScoreBlockRows * inputs];
        for (int start = 0; start < rows; start += ScoreBlockRows)
        {
            int count = Math.Min(ScoreBlockRows, rows - start);
            for (int r = 0; r < count; r++)
                table.CopyDenseRow(start + r, block.AsSpan(r * inputs, inputs));
            teacher.ScoreBatch(block.AsSpan(0, count * inputs), count, result.AsSpan(start * outputs, count * outputs));
        }
        return result;
    }

    /// <summary>The teacher's settings: the FFF's shared training options and one hidden layer of the teacher width.</summary>
    private sealed class TeacherOptions : DenseFeedForwardOptionsBase
    {
        public TeacherOptions(FastFeedForwardOptionsBase student)
        {
            LabelColumnName = student.LabelColumnName;
            FeatureColumnName = student.FeatureColumnName;
            ExampleWeightColumnName = student.ExampleWeightColumnName;
            NumberOfEpochs = student.NumberOfEpochs;
            BatchSize = student.BatchSize;
            LearningRate = student.LearningRate;
            LearningRateSchedule = student.LearningRateSchedule;
            Optimizer = student.Optimizer;
            WeightDecay = student.WeightDecay;
            FeatureScaling = student.FeatureScaling;
            NumericEmbedding = student.NumericEmbedding;
            NumericEmbeddingWidth = student.NumericEmbeddingWidth;
            NumericEmbeddingBins = student.NumericEmbeddingBins;
            NumericEmbeddingFrequencies = student.NumericEmbeddingFrequencies;
            PeriodicSigma = student.PeriodicSigma;
            InputDropout = student.InputDropout;
            ShiftAugmentation = student.ShiftAugmentation;
            ImageHeight = student.ImageHeight;
            ImageWidth = student.ImageWidth;
            LabelSmoothing = student.LabelSmoothing;
            EarlyStoppingPatience = student.EarlyStoppingPatience;
            InMemoryLimitMegabytes = student.InMemoryLimitMegabytes;
            StreamChunkRows = student.StreamChunkRows;
            CancellationToken = student.CancellationToken;
            Device = student.Device;
            NumberOfThreads = student.NumberOfThreads;
            HiddenLayerWidths = new[] { student.DistillationTeacherWidth };
        }
    }
}
