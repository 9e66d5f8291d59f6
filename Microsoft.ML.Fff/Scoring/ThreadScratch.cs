using System;

namespace Microsoft.ML.Fff.Scoring;

/// <summary>
/// Per-thread scratch arrays for scorers whose working set is too large for the stack. Each thread's array grows to the
/// largest size it has needed and is then reused, so steady-state scoring allocates nothing. <c>ArrayPool.Shared</c> is
/// not used here because the GC trims its cached arrays under memory pressure, which makes a later row allocate again.
/// A caller must not hold a span from one call while making another call of the same kind on the same thread.
/// </summary>
internal static class ThreadScratch
{
    [ThreadStatic]
    private static float[]? t_floats;

    [ThreadStatic]
    private static int[]? t_ints;

    /// <summary>At least <paramref name="count"/> floats, owned by the calling thread until its next call.</summary>
    public static Span<float> Floats(int count)
    {
        float[]? array = t_floats;
        if (array == null || array.Length < count)
            t_floats = array = new float[Math.Max(count, 2 * (array?.Length ?? 0))];
        return array.AsSpan(0, count);
    }

    /// <summary>At least <paramref name="count"/> ints, owned by the calling thread until its next call.</summary>
    public static Span<int> Ints(int count)
    {
        int[]? array = t_ints;
        if (array == null || array.Length < count)
            t_ints = array = new int[Math.Max(count, 2 * (array?.Length ?? 0))];
        return array.AsSpan(0, count);
    }
}
