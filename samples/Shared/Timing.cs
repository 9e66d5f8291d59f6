using System;
using System.Diagnostics;

namespace MlNetFff.Samples;

/// <summary>The per-row latency measure of the image and text samples (linked into both).</summary>
internal static class Timing
{
    /// <summary>Median microseconds of <paramref name="count"/> timed calls, after <paramref name="warmup"/> untimed ones (JIT, caches).</summary>
    public static double MedianMicroseconds(Action<int> call, int warmup, int count)
    {
        for (int i = 0; i < warmup; i++)
            call(i);
        var times = new double[count];
        for (int i = 0; i < times.Length; i++)
        {
            long start = Stopwatch.GetTimestamp();
            call(i);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Array.Sort(times);
        return times[times.Length / 2];
    }
}
