using System;
using System.Runtime.CompilerServices;

namespace Microsoft.ML.Fff.Scoring;

/// <summary>
/// A network that scores batches grouped: each row is routed to a part of the network (a leaf, some experts), the rows
/// are grouped by part (<see cref="Grouping"/>), and each group is one blocked multiply, so a part's weights are read
/// once per group instead of once per row. This base owns the batch skeleton such networks share: the parallel split
/// into ranges, ranges cut into groups of at most <c>maxGroupRows</c> rows, and the one-row path for groups too small
/// to be worth grouping. Every row equals the one-row <c>Score</c> bit for bit.
/// </summary>
internal abstract class GroupedBatchNetwork : FeedForwardNetwork
{
    private readonly int _minRowsPerThread;
    private readonly int _minGroupedRows;
    private readonly int _maxGroupRows;

    /// <param name="inputCount">Features per row.</param>
    /// <param name="outputCount">Outputs per row.</param>
    /// <param name="minRowsPerThread">The fewest rows per thread worth a parallel split.</param>
    /// <param name="minGroupedRows">The fewest rows worth grouping; fewer are scored one at a time.</param>
    /// <param name="maxGroupRows">The most rows grouped together (bounds the per-group scratch).</param>
    private protected GroupedBatchNetwork(int inputCount, int outputCount, int minRowsPerThread, int minGroupedRows, int maxGroupRows)
        : base(inputCount, outputCount)
    {
        _minRowsPerThread = minRowsPerThread;
        _minGroupedRows = minGroupedRows;
        _maxGroupRows = maxGroupRows;
    }

    /// <summary>
    /// Scores the batch grouped (see <see cref="ScoreGrouped"/>); large batches are split into contiguous ranges scored on
    /// separate threads, and serial batches allocate nothing after warm-up.
    /// </summary>
    public sealed override void ScoreBatch(ReadOnlySpan<float> features, int rowCount, Span<float> outputs)
    {
        CheckBatch(features, rowCount, outputs);
        ScoreRanges(features, rowCount, outputs, _minRowsPerThread);
    }

    /// <summary>Scores rows <c>[first, first + count)</c> on the calling thread, at most <c>maxGroupRows</c> rows per group.</summary>
    private protected sealed override void ScoreRange(ReadOnlySpan<float> features, int first, int count, Span<float> outputs)
    {
        int end = first + count;
        for (int start = first; start < end;)
        {
            int rows = Math.Min(_maxGroupRows, end - start);
            if (rows < _minGroupedRows)
                base.ScoreRange(features, start, rows, outputs);   // too few rows to group: one at a time
            else
                ScoreGrouped(features, start, rows, outputs);
            start += rows;
        }
    }

    /// <summary>
    /// Scores rows <c>[first, first + count)</c> (at least <c>minGroupedRows</c>, at most <c>maxGroupRows</c>) grouped.
    /// Overrides carry <see cref="MethodImplOptions.AggressiveOptimization"/>: when one-row calls run first (a
    /// PredictionEngine, or one-row batches), dynamic PGO would otherwise compile the grouped path as cold code, and a
    /// benchmark saw 10,000-row batches run at half speed.
    /// </summary>
    private protected abstract void ScoreGrouped(ReadOnlySpan<float> features, int first, int count, Span<float> outputs);
}
