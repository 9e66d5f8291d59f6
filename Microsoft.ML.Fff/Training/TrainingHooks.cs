using System.Collections.Generic;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Fff.Training;

/// <summary>
/// Training behaviour a kind adds to the shared session and trainer base: a teacher whose outputs become a second
/// target, and self-distillation in a stage. The session asks these hooks and never looks at the options' type. The
/// defaults add nothing.
/// </summary>
internal class TrainingHooks
{
    /// <summary>Hooks that add nothing.</summary>
    public static readonly TrainingHooks None = new();

    /// <summary>
    /// Trains a teacher before the run and returns its raw outputs (logits, or the prediction on the label's scale) for
    /// every row of the in-memory training table, row-major; null for no teacher.
    /// </summary>
    public virtual float[]? TeacherOutputs(IChannel ch, TrainingData train, TrainingData? valid, LabelKind kind, int seed) => null;

    /// <summary>Share <c>a</c> of the teacher term in the loss, when there is a teacher.</summary>
    public virtual double TeacherWeight => 0;

    /// <summary>Softmax (or sigmoid) temperature <c>T</c> of the teacher term.</summary>
    public virtual double TeacherTemperature => 1;

    /// <summary>Weight of the module's own soft outputs as the teacher of <paramref name="phase"/> (self-distillation), or 0.</summary>
    public virtual double SelfDistillationWeight(PhasePlan phase) => 0;

    /// <summary>Rejects, before training, data the hooks cannot use (for instance streamed data where they need it in memory).</summary>
    public virtual void CheckData(IChannel ch, TrainingData train, IReadOnlyList<PhasePlan> phases)
    {
    }
}
