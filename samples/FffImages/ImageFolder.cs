using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;

namespace Microsoft.ML.Fff.Samples;

/// <summary>One image file and its label (the name of the sub-folder it is in).</summary>
public sealed class ImageFile
{
    /// <summary>Path relative to the folder passed to <see cref="ImageFolder.List"/> (LoadImages gets that folder as its image folder).</summary>
    public string ImagePath { get; set; } = "";

    /// <summary>The label: the sub-folder's name.</summary>
    public string Label { get; set; } = "";
}

/// <summary>Lists a folder of images laid out one sub-folder per label: <c>{folder}/{label}/{file}</c>.</summary>
public static class ImageFolder
{
    private static readonly string[] Extensions = { ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp" };

    /// <summary>
    /// The image files under <paramref name="folder"/>, ordered by file name (numeric names by their number, so
    /// <c>2.png</c> comes before <c>10.png</c>) and then by label; at most <paramref name="maxRows"/> of them (the first ones in
    /// that order). For the MNIST PNG folders, whose files are named by their position in the idx file, this is the idx order.
    /// </summary>
    public static List<ImageFile> List(string folder, int? maxRows = null)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Image folder {folder} does not exist. For MNIST run scripts/fetch-mnist-png.sh.");
        var files = new List<(long Number, string Name, ImageFile File)>();
        foreach (string labelFolder in Directory.EnumerateDirectories(folder))
        {
            string label = Path.GetFileName(labelFolder);
            foreach (string path in Directory.EnumerateFiles(labelFolder))
            {
                if (!Extensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase))
                    continue;
                string stem = Path.GetFileNameWithoutExtension(path);
                long number = long.TryParse(stem, NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : long.MaxValue;
                files.Add((number, Path.GetFileName(path), new ImageFile { ImagePath = Path.Combine(label, Path.GetFileName(path)), Label = label }));
            }
        }
        if (files.Count == 0)
            throw new InvalidDataException($"Image folder {folder} has no image files in label sub-folders ({{folder}}/{{label}}/{{file}}).");
        return files
            .OrderBy(f => f.Number).ThenBy(f => f.Name, StringComparer.Ordinal).ThenBy(f => f.File.Label, StringComparer.Ordinal)
            .Take(maxRows ?? int.MaxValue)
            .Select(f => f.File)
            .ToList();
    }
}
