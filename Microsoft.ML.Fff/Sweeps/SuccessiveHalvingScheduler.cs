using System;
using System.Collections.Generic;
using System.Linq;

namespace Microsoft.ML.Fff.Sweeps;

/// <summary>
/// Asynchronous successive halving (Li et al., "A System for Massively Parallel Hyperparameter Tuning", 2020) run by one worker:
/// before each trial, the highest rung with a configuration in its top <c>1/eta</c> that has not been promoted yet promotes it;
/// otherwise a new configuration starts at rung 0. Ranking within a rung is multi-objective: first by non-dominated front on
/// (metric, neurons per row), then by metric, so cheap configurations on the front get trained further as well as the most
/// accurate ones. Neurons per row (not the measured latency) keep the decisions deterministic. Trials that failed or miss the
/// constraints rank last and are never promoted.
/// </summary>
internal sealed class SuccessiveHalvingScheduler
{
    private readonly int _eta;
    private readonly List<Entry>[] _rungs;

    public SuccessiveHalvingScheduler(int minEpochs, int maxEpochs, int eta)
    {
        _eta = eta;
        RungEpochs = ComputeRungs(minEpochs, maxEpochs, eta);
        _rungs = RungEpochs.Select(_ => new List<Entry>()).ToArray();
    }

    /// <summary>Epochs of each rung, cheapest first; the last is the maximum.</summary>
    public IReadOnlyList<int> RungEpochs { get; }

    /// <summary>
    /// Rungs <c>max / eta^k</c> (rounded, at least <paramref name="minEpochs"/>), k = s-1 .. 0, with s = floor(log_eta(max/min)) + 1,
    /// so the top rung is exactly <paramref name="maxEpochs"/> and each rung has about eta times the epochs of the one below.
    /// </summary>
    internal static int[] ComputeRungs(int minEpochs, int maxEpochs, int eta)
    {
        int count = 1;
        double span = maxEpochs / (double)minEpochs;
        while (Math.Pow(eta, count) <= span + 1e-9)
            count++;
        var rungs = new List<int>();
        for (int k = count - 1; k >= 0; k--)
        {
            int epochs = Math.Max(minEpochs, (int)Math.Round(maxEpochs / Math.Pow(eta, k)));
            if (rungs.Count == 0 || epochs > rungs[^1])
                rungs.Add(epochs);
        }
        return rungs.ToArray();
    }

    /// <summary>The next promotion (configuration with the next rung's epochs, its rung, the trial it comes from), or null to start a new configuration.</summary>
    public (FffTrialConfiguration Configuration, int Rung, int From)? NextPromotion()
    {
        for (int rung = _rungs.Length - 2; rung >= 0; rung--)
        {
            List<Entry> entries = _rungs[rung];
            int slots = entries.Count / _eta;
            if (slots == 0)
                continue;
            foreach (Entry candidate in Rank(entries).Take(slots))
            {
                if (candidate.Promoted || !candidate.Eligible)
                    continue;
                candidate.Promoted = true;
                return (candidate.Configuration.WithEpochs(RungEpochs[rung + 1]), rung + 1, candidate.TrialId);
            }
        }
        return null;
    }

    /// <summary>Records a finished trial (cancelled trials are not recorded: they say nothing about the configuration).</summary>
    public void Report(FffTrialResult trial, bool higherIsBetter)
    {
        if (trial.Status == FffTrialStatus.Cancelled)
            return;
        bool eligible = trial.Status == FffTrialStatus.Succeeded && trial.MeetsConstraints && !double.IsNaN(trial.Metric);
        double score = eligible ? (higherIsBetter ? trial.Metric : -trial.Metric) : double.NegativeInfinity;
        _rungs[trial.Rung].Add(new Entry(trial.TrialId, trial.Configuration, score, trial.NeuronsPerRow, eligible));
    }

    /// <summary>Non-dominated fronts on (score up, neurons down), each front by score, then by trial id; ineligible entries last.</summary>
    private static IEnumerable<Entry> Rank(List<Entry> entries)
    {
        var remaining = entries.Where(e => e.Eligible).ToList();
        var ranked = new List<Entry>();
        while (remaining.Count > 0)
        {
            List<Entry> front = remaining.Where(e => !remaining.Any(o => Dominates(o, e))).ToList();
            ranked.AddRange(front.OrderByDescending(e => e.Score).ThenBy(e => e.TrialId));
            remaining.RemoveAll(front.Contains);
        }
        ranked.AddRange(entries.Where(e => !e.Eligible).OrderBy(e => e.TrialId));
        return ranked;
    }

    private static bool Dominates(Entry a, Entry b)
        => a.Score >= b.Score && a.Neurons <= b.Neurons && (a.Score > b.Score || a.Neurons < b.Neurons);

    // A class, not a record: Rank removes fronts by reference (List.Contains).
    private sealed class Entry(int trialId, FffTrialConfiguration configuration, double score, int neurons, bool eligible)
    {
        public int TrialId { get; } = trialId;
        public FffTrialConfiguration Configuration { get; } = configuration;
        public double Score { get; } = score;
        public int Neurons { get; } = neurons;
        public bool Eligible { get; } = eligible;
        public bool Promoted { get; set; }
    }
}
