using System;

namespace Microsoft.ML.Fff.Scoring;

/// <summary>The grouping step of the batch scorers: items ordered by the leaf or expert they go to, written once.</summary>
internal static class Grouping
{
    /// <summary>
    /// Stable counting sort: writes every index <c>i</c> with <c>keys[i] &gt;= 0</c> into <paramref name="destination"/>,
    /// grouped by key in increasing order and, within a key, in increasing <c>i</c>; negative keys (rows that could not be
    /// routed) are left out. Afterwards <c>offsets[key]</c> is the end of that key's group.
    /// </summary>
    /// <param name="keys">The key of every item, in <c>[0, offsets.Length - 1)</c> or negative.</param>
    /// <param name="offsets">Scratch of the key count plus one.</param>
    /// <param name="destination">Receives the indices; at least as long as the number of non-negative keys.</param>
    public static void CountingSort(ReadOnlySpan<int> keys, Span<int> offsets, Span<int> destination)
    {
        offsets.Clear();
        foreach (int key in keys)
        {
            if (key >= 0)
                offsets[key + 1]++;
        }
        for (int key = 0; key + 1 < offsets.Length; key++)
            offsets[key + 1] += offsets[key];
        for (int i = 0; i < keys.Length; i++)
        {
            int key = keys[i];
            if (key >= 0)
                destination[offsets[key]++] = i;
        }
    }
}
