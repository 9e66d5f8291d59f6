using System;
using System.IO;
using System.Reflection;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Fff.Persistence;

/// <summary>
/// The model-file envelope shared by every network and task: the format versions, the ML.NET <see cref="VersionInfo"/>
/// of each task's model parameters, the signature and version checks, and the exceptions a corrupt file raises. The one
/// place that knows which versions exist; the network payloads are read through <see cref="NetworkCodecs"/>.
/// </summary>
internal static class ModelFormat
{
    /// <summary>Format 0x00010001: a leaf-FFF payload without a network kind code and without the master leaf.</summary>
    public const uint FirstVersion = 0x00010001;

    /// <summary>Format 0x00010002: the network kind code first, then that kind's payload (see <see cref="NetworkFormat"/>).</summary>
    public const uint KindCodeVersion = 0x00010002;

    /// <summary>Format 0x00010003: input stages (numerical embeddings, robust scaling) and leaf-tree ensembles.</summary>
    public const uint ThirdVersion = 0x00010003;

    /// <summary>
    /// Format 0x00010004: the payloads of 0x00010003, scored with the narrow kernels where a leaf FFF qualifies
    /// (<c>FastFeedForwardNetwork.UsesNarrowKernels</c>: tables' rows). Those add in another order than the kernels before
    /// them, so files older than this keep the old kernels (<see cref="Scoring.FeedForwardNetwork.KeepLegacyKernels"/>) and score
    /// bit for bit as when they were saved, and are saved again in 0x00010003.
    /// </summary>
    public const uint NarrowKernelsVersion = 0x00010004;

    /// <summary>
    /// Format 0x00010005: the input stage's clamp map (map kind 4, <c>FeedForwardOptionsBase.ClampToTrainingRange</c>), which readers
    /// of 0x00010004 do not know; every other payload as in 0x00010004.
    /// </summary>
    public const uint ClampVersion = 0x00010005;

    /// <summary>
    /// Format 0x00010006: offsets for repeated rows (network kind 7, <c>FeedForwardOptionsBase.RepeatedRowOffsets</c>), which readers
    /// of 0x00010005 do not know; every other payload as in 0x00010005.
    /// </summary>
    public const uint RepeatedRowsVersion = 0x00010006;

    /// <summary>The format this version writes.</summary>
    public const uint CurrentVersion = RepeatedRowsVersion;

    /// <summary>The kind code implied by files of <see cref="FirstVersion"/>, which store no code.</summary>
    public const int FirstVersionKindCode = 0;

    /// <summary>
    /// The version record of one task's model parameters: written in <see cref="CurrentVersion"/>, readable back to
    /// <see cref="FirstVersion"/> (0x00010001 initial; 0x00010002 network kind code, master leaf; 0x00010003 input stages and
    /// leaf-tree ensembles, new kinds whose payloads older readers do not know; 0x00010004 narrow kernels; 0x00010005 the clamp map; 0x00010006 offsets for repeated rows). A network that
    /// keeps the kernels of older files is written in <see cref="ThirdVersion"/> (<paramref name="written"/>).
    /// </summary>
    public static VersionInfo VersionInfo(string modelSignature, string loaderSignature, Assembly loaderAssembly, uint written = CurrentVersion) => new(
        modelSignature: modelSignature,
        verWrittenCur: written,
        verReadableCur: written,
        verWeCanReadBack: FirstVersion,
        loaderSignature: loaderSignature,
        loaderAssemblyName: loaderAssembly.FullName);

    /// <summary>
    /// Checks the stored model signature and format version, then runs ML.NET's own check (<c>ctx.CheckAtModel</c>).
    /// Ours comes first because ML.NET's message for a too-new model names ML.NET rather than this library and swaps
    /// the two version numbers.
    /// </summary>
    public static void CheckVersion(ModelLoadContext ctx, VersionInfo supported)
    {
        ulong signature = ctx.Header.ModelSignature;
        uint written = ctx.Header.ModelVerWritten, readable = ctx.Header.ModelVerReadable;
        if (signature != supported.ModelSignature)
            throw Mark(Corrupt($"the model signature is '{Ascii(signature)}' where '{Ascii(supported.ModelSignature)}' was expected."));
        if (readable > written)
            throw Mark(Corrupt($"the header says format 0x{written:X8} was written but format 0x{readable:X8} is needed to read it."));
        if (readable > supported.VerWrittenCur)
        {
            throw Mark(new InvalidDataException(
                $"Unsupported FFF model version: the model was saved in format 0x{written:X8} and needs a reader of format 0x{readable:X8} or later, "
                + $"but this Microsoft.ML.Fff reads formats 0x{supported.VerWeCanReadBack:X8} to 0x{supported.VerWrittenCur:X8}. Load it with a newer Microsoft.ML.Fff."));
        }
        if (written < supported.VerWeCanReadBack)
        {
            throw Mark(new InvalidDataException(
                $"Unsupported FFF model version: the model was saved in format 0x{written:X8}, older than the oldest this Microsoft.ML.Fff reads (0x{supported.VerWeCanReadBack:X8})."));
        }
        ctx.CheckAtModel(supported);
    }

    /// <summary>
    /// The exception for every corrupt stored network, whatever its kind. "FFF" here is the library's name (Microsoft.ML.Fff),
    /// not the algorithm: a corrupt dense model reports the same prefix.
    /// </summary>
    public static InvalidDataException Corrupt(string problem, Exception? inner = null)
        => new("Corrupt FFF model: " + problem, inner);

    /// <summary>
    /// Marks a corrupt-model exception the way ML.NET marks its own (<c>Contracts.Mark</c>), so that ML.NET's component
    /// catalog reports it like a corrupt ML.NET component: <c>Model.Load</c> throws <see cref="InvalidOperationException"/>
    /// ("Error during class instantiation") whose innermost exception is ours, instead of a bare TargetInvocationException.
    /// </summary>
    public static InvalidDataException Mark(InvalidDataException e) => Contracts.Mark(e);

    // Model signatures are eight ASCII characters packed little endian into a ulong.
    private static string Ascii(ulong signature)
    {
        var chars = new char[8];
        for (int i = 0; i < 8; i++)
        {
            char c = (char)((signature >> (8 * i)) & 0xFF);
            chars[i] = c is >= ' ' and <= '~' ? c : '?';
        }
        return new string(chars);
    }
}
