using System;
using System.Globalization;
using ScottPlot;

namespace Microsoft.ML.Fff.Plotting;

/// <summary>
/// The log-scaled microseconds axis of the latency plots: points are plotted at log10(µs), and the ticks are labelled at 1, 2 and 5
/// times the powers of ten that the data spans. Also linked into the comparison tools' front plot (tools/Shared/FrontPlot.cs).
/// </summary>
internal static class LogTicks
{
    /// <summary>Ticks between <paramref name="low"/> / <paramref name="margin"/> and <paramref name="high"/> × <paramref name="margin"/> µs.</summary>
    public static ScottPlot.TickGenerators.NumericManual Microseconds(double low, double high, double margin)
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int power = (int)Math.Floor(Math.Log10(low)) - 1; power <= (int)Math.Ceiling(Math.Log10(high)); power++)
        {
            foreach (double step in new[] { 1.0, 2.0, 5.0 })
            {
                double value = step * Math.Pow(10, power);
                if (value >= low / margin && value <= high * margin)
                    ticks.AddMajor(Math.Log10(value), value.ToString("G3", CultureInfo.InvariantCulture));
            }
        }
        return ticks;
    }
}
