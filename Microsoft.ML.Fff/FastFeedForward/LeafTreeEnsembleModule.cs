using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Fff.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.FastFeedForward;

/// <summary>
/// The trainable leaf-tree ensemble on TorchSharp: <c>K</c> independent <see cref="FastFeedForwardModule"/>s on the same
/// batch, each with its own soft/hard forward, hardening and balancing penalties and stages. The step's output is the mean of
/// the members' outputs, and the members' own outputs go to the session (<see cref="StepOutput.Members"/>), which trains on the
/// mean of their losses.
/// </summary>
internal sealed class LeafTreeEnsembleModule : FeedForwardModule
{
    private readonly ModuleList<FastFeedForwardModule> members;
    private readonly Scalar _inverseCount;

    public LeafTreeEnsembleModule(int inputs, int outputs, FastFeedForwardOptionsBase options, int count, Device device) : base("FastFeedForwardEnsemble")
    {
        members = new ModuleList<FastFeedForwardModule>(Enumerable.Range(0, count).Select(_ => new FastFeedForwardModule(inputs, outputs, options, device)).ToArray());
        _inverseCount = (1.0 / count).ToScalar();
        RegisterComponents();
    }

    /// <summary>The members, in the network's member order.</summary>
    public IList<FastFeedForwardModule> Members => members;

    /// <summary>
    /// The trees, unless they draw from the step's shared random generator (region leak): run side by side, their draws would
    /// depend on which tree ran first.
    /// </summary>
    public override IReadOnlyList<FeedForwardModule>? IndependentMembers
        => members.Any(m => m.DrawsRandomNumbers) ? null : members.ToArray<FeedForwardModule>();

    /// <summary>Each member decides for its own parameters (hard fine-tuning leaves every tree's routing nodes alone).</summary>
    public override IEnumerable<Parameter> ParametersFor(PhasePlan phase) => members.SelectMany(m => m.ParametersFor(phase));

    /// <summary>The mean of the members' soft outputs (evaluation of the training-time function; self-distillation's teacher).</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        return Mean(members.Select(m => m.forward(input))).MoveToOuterDisposeScope();
    }

    /// <summary>The mean of the members' hard-descent outputs (what the C# scorer computes).</summary>
    public Tensor HardForward(Tensor input) => Mean(members.Select(m => m.HardForward(input)));

    /// <summary>Every member's step; penalties and reported entropy and balance are the members' means, and the members' outputs go along.</summary>
    public override StepOutput TrainingForward(Tensor input, StepContext context)
    {
        StepOutput[] steps = members.Select(m => m.TrainingForward(input, context)).ToArray();
        Tensor stacked = stack(steps.Select(s => s.Output).ToArray(), 1);   // [B, K, O]
        return new StepOutput(stacked.mean(new long[] { 1 }), MeanOrNull(steps.Select(s => s.Penalty)), MeanOrNull(steps.Select(s => s.Entropy)),
            MeanOrNull(steps.Select(s => s.Balance)), stacked);
    }

    private Tensor Mean(IEnumerable<Tensor> outputs) => stack(outputs.ToArray(), 1).mean(new long[] { 1 });

    /// <summary>The mean of the members' values when every member has one (members share the options, so all or none do).</summary>
    private Tensor? MeanOrNull(IEnumerable<Tensor?> values)
    {
        Tensor? sum = null;
        foreach (Tensor? value in values)
        {
            if (value is null)
                return null;
            sum = sum is null ? value : sum.add(value, AliveScalars.One);
        }
        return sum?.mul(_inverseCount);
    }

    // Import and Export go member by member; the ensemble has no weights of its own.
    private protected override IEnumerable<WeightBinding> Bindings(FeedForwardNetwork network) => Enumerable.Empty<WeightBinding>();

    public override void Import(FeedForwardNetwork network)
    {
        FastFeedForwardNetwork[] trees = ((LeafTreeEnsembleNetwork)network).Members;
        for (int t = 0; t < trees.Length; t++)
            members[t].Import(trees[t]);
    }

    public override void Export(FeedForwardNetwork network)
    {
        FastFeedForwardNetwork[] trees = ((LeafTreeEnsembleNetwork)network).Members;
        for (int t = 0; t < trees.Length; t++)
            members[t].Export(trees[t]);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _inverseCount.Dispose();
        base.Dispose(disposing);
    }
}
