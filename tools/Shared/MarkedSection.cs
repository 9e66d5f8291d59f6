using System;
using System.IO;

namespace MlNetFff.Tools;

/// <summary>The <c>--write FILE</c> of the comparison tools (linked into each): their table goes between two markers of a Markdown file.</summary>
internal static class MarkedSection
{
    /// <summary>Replaces the text between <c>&lt;!-- {name}:begin --&gt;</c> and <c>&lt;!-- {name}:end --&gt;</c> in <paramref name="path"/> with <paramref name="content"/>.</summary>
    /// <exception cref="InvalidOperationException">The file lacks the markers (or has them in the wrong order).</exception>
    public static void Replace(string path, string name, string content)
    {
        string begin = $"<!-- {name}:begin -->", end = $"<!-- {name}:end -->";
        string text = File.ReadAllText(path);
        int from = text.IndexOf(begin, StringComparison.Ordinal), to = text.IndexOf(end, StringComparison.Ordinal);
        if (from < 0 || to < from)
            throw new InvalidOperationException($"{path} has no '{begin}' ... '{end}' section to replace.");
        File.WriteAllText(path, text[..(from + begin.Length)] + Environment.NewLine + content + Environment.NewLine + text[to..]);
    }
}
