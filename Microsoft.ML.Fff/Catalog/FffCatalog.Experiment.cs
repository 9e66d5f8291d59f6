using Microsoft.ML.Fff.Sweeps;

namespace Microsoft.ML.Fff;

public sealed partial class FffCatalog
{
    /// <summary>
    /// Creates a hyper-parameter sweep over fast feedforward, mixture-of-experts and dense models (an AutoML-style experiment): set
    /// its dataset and metric, optionally its time budget, search strategy, search space and latency limits, then call
    /// <see cref="FffExperiment.Run"/>. See docs/sweeps.md in the repository.
    /// </summary>
    /// <returns>A new experiment with the defaults: all three model kinds, successive halving, 120 seconds, seed 0.</returns>
    public FffExperiment CreateExperiment() => new(Context);
}
