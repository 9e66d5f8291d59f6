using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Fff.Training;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>
/// The FFF recipe's additions to the shared training session: distillation from a dense teacher
/// (<see cref="FastFeedForwardOptionsBase.DistillationTeacherWidth"/>) and self-distillation in hard fine-tuning
/// (<see cref="FastFeedForwardOptionsBase.FineTuneSoftTargetWeight"/>).
/// </summary>
internal sealed class FastFeedForwardTrainingHooks : TrainingHooks
{
    private readonly FastFeedForwardOptionsBase _options;

    public FastFeedForwardTrainingHooks(FastFeedForwardOptionsBase options) => _options = options;

    public override float[]? TeacherOutputs(IChannel ch, TrainingData train, TrainingData? valid, LabelKind kind, int seed)
        => _options.DistillationTeacherWidth > 0 ? Distillation.TeacherOutputs(ch, _options, train, valid, kind, seed) : null;

    public override double TeacherWeight => _options.DistillationWeight;

    public override double TeacherTemperature => _options.DistillationTemperature;

    /// <summary>Hard descent learns the soft function it came from, which is what closes the soft/hard gap.</summary>
    public override double SelfDistillationWeight(PhasePlan phase)
        => phase.Phase == FffTrainingPhase.HardFineTune ? _options.FineTuneSoftTargetWeight : 0;

    public override void CheckData(IChannel ch, TrainingData train, IReadOnlyList<PhasePlan> phases)
    {
        if (train.InMemory == null && phases.Any(p => p.Epochs > 0 && SelfDistillationWeight(p) > 0))
        {
            throw ch.Except($"FineTuneSoftTargetWeight ({_options.FineTuneSoftTargetWeight}) needs the training data in memory, but it is larger than " +
                $"InMemoryLimitMegabytes ({_options.InMemoryLimitMegabytes}); raise that option or set FineTuneSoftTargetWeight to 0.");
        }
    }
}
