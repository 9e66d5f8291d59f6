using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Text;

namespace Microsoft.ML.Fff.Training;

/// <summary>The parts of a training run whose wall-clock time <see cref="TrainingTimes"/> adds up.</summary>
internal enum TrainingPart
{
    /// <summary>The validating pass over the training data (it runs the upstream transforms row by row).</summary>
    ScanTraining,
    /// <summary>The same pass over the validation data (a holdout re-reads the whole view and keeps its share).</summary>
    ScanValidation,
    /// <summary>A kind's teacher outputs (distillation), before the session.</summary>
    Teacher,
    /// <summary>Scaled feature and target tensors of the mini-batches.</summary>
    Batches,
    /// <summary>The training forward pass and the loss.</summary>
    Forward,
    /// <summary><c>loss.backward()</c>.</summary>
    Backward,
    /// <summary>Zeroing the gradients and the Adam step.</summary>
    Optimizer,
    /// <summary>Reading the step's loss, entropy and balance back (<c>item()</c>).</summary>
    Bookkeeping,
    /// <summary>Copying the module's weights into the C# network after every epoch (and the folded copy of it).</summary>
    Export,
    /// <summary>The per-epoch soft (torch) and hard (C# scorer) metric on the evaluation rows.</summary>
    Evaluation,
    /// <summary>Grouping the training rows and fitting the offsets of repeated rows (<c>RepeatedRowOffsets</c>), after training.</summary>
    RepeatedRows,
}

/// <summary>
/// Wall-clock seconds of a training run by part: one diagnostic line on the trainer's channel at the end of training, so a
/// user (or the tabular suite with its log switched on) sees where the time went. Timestamps cost tens of nanoseconds,
/// a training step hundreds of microseconds, so it is always on.
/// </summary>
internal sealed class TrainingTimes
{
    private readonly long[] _ticks = new long[Enum.GetValues<TrainingPart>().Length];

    /// <summary>Optimizer steps taken.</summary>
    public long Steps { get; set; }

    /// <summary>Epochs trained (all stages).</summary>
    public int Epochs { get; set; }

    /// <summary>A timestamp to pass to <see cref="Add"/>.</summary>
    public static long Now => Stopwatch.GetTimestamp();

    /// <summary>Adds the time since <paramref name="since"/> to <paramref name="part"/> and returns the current timestamp (to chain parts).</summary>
    public long Add(TrainingPart part, long since)
    {
        long now = Stopwatch.GetTimestamp();
        _ticks[(int)part] += now - since;
        return now;
    }

    /// <summary>Adds <paramref name="ticks"/> (<see cref="Stopwatch"/> ticks, measured elsewhere) to <paramref name="part"/>.</summary>
    public void AddTicks(TrainingPart part, long ticks) => _ticks[(int)part] += ticks;

    /// <summary>Seconds spent in <paramref name="part"/>.</summary>
    public double Seconds(TrainingPart part) => _ticks[(int)part] / (double)Stopwatch.Frequency;

    /// <summary>One line: every part with any time, in seconds, and the steps and epochs; <paramref name="total"/> is the whole run.</summary>
    public string Describe(TimeSpan total)
    {
        var text = new StringBuilder("time ");
        text.Append(total.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture)).Append(" s:");
        double parts = 0;
        foreach (TrainingPart part in Enum.GetValues<TrainingPart>().Where(p => _ticks[(int)p] > 0))
        {
            double seconds = Seconds(part);
            parts += seconds;
            text.Append(' ').Append(part).Append(' ').Append(seconds.ToString("F2", CultureInfo.InvariantCulture)).Append(',');
        }
        text.Append(" other ").Append(Math.Max(0, total.TotalSeconds - parts).ToString("F2", CultureInfo.InvariantCulture));
        text.Append("; ").Append(Epochs).Append(" epochs, ").Append(Steps).Append(" steps");
        if (Steps > 0)
        {
            double perStep = (Seconds(TrainingPart.Batches) + Seconds(TrainingPart.Forward) + Seconds(TrainingPart.Backward)
                + Seconds(TrainingPart.Optimizer) + Seconds(TrainingPart.Bookkeeping)) / Steps;
            text.Append(" (").Append((perStep * 1e6).ToString("F0", CultureInfo.InvariantCulture)).Append(" µs per step)");
        }
        return text.Append('.').ToString();
    }
}
