using System.Globalization;
using System.IO;
using Microsoft.ML.Fff.Scoring;
using static Microsoft.ML.Fff.Persistence.ModelFormat;

namespace Microsoft.ML.Fff.Persistence;

/// <summary>
/// A network as stored in a model file: the kind code, then the kind's payload, then the load-time checks common to
/// every kind. The payload of each kind is documented next to its network's <c>SavePayload</c>.
/// </summary>
internal static class NetworkFormat
{
    // *** Binary format (model files 0x00010002 and later) ***
    // int32  network kind code (registered by each kind, see Kinds/NetworkKind.cs)
    // then the kind's own payload, described next to each network's SavePayload.
    // Files of format 0x00010001 hold the payload of kind 0 without the kind field (its codec reads both).
    // Version history: 0x00010001 leaf FFF only; 0x00010002 kind code, master leaf, the other kinds; 0x00010003 input
    // stages (kind 5) and leaf-tree ensembles (kind 6); 0x00010004 no payload change: leaf FFFs on narrow rows score with
    // NarrowKernels, and networks read from older files keep the older kernels (KeepLegacyKernels) and are written as 0x00010003;
    // 0x00010005 the input stage's clamp map; 0x00010006 offsets for repeated rows (kind 7).
    // All little endian. In an ML.NET model file this follows ML.NET's 256-byte ModelHeader and the int32 sizeof(float)
    // that ModelParametersBase writes; the rest of the header's model block is exactly these bytes, no more, no less.
    // Load also requires every weight finite and, for inputs in [-1, 1], no intermediate value or output above
    // FeedForwardNetwork.MaxUnitBoxMagnitude. Anything else is rejected with InvalidDataException("Corrupt FFF model: ..."),
    // before any array is allocated when a size is wrong.

    /// <summary>Writes the kind code and the payload.</summary>
    public static void Save(FeedForwardNetwork network, BinaryWriter writer)
    {
        writer.Write(NetworkCodecs.For(network).Code);
        network.SavePayload(writer);
    }

    /// <summary>
    /// Reads a network written by <see cref="Save"/> (or, for <see cref="ModelFormat.FirstVersion"/>, a payload without the
    /// kind code), validating every size against the format's limits and the stream before allocating. Every problem is
    /// an <see cref="InvalidDataException"/> whose message starts with "Corrupt FFF model:".
    /// </summary>
    /// <param name="reader">Positioned at the kind code.</param>
    /// <param name="byteCount">The exact number of bytes the network occupies, when the container knows it (ML.NET's
    /// model block); when null, a seekable stream must merely be long enough.</param>
    /// <param name="formatVersion">The model file's format version.</param>
    public static FeedForwardNetwork Load(BinaryReader reader, long? byteCount = null, uint formatVersion = CurrentVersion)
        => Read(reader, byteCount, formatVersion, validate: true);

    /// <summary>A deep copy (through the binary format, without the load-time checks).</summary>
    public static FeedForwardNetwork Clone(FeedForwardNetwork network)
    {
        var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            Save(network, writer);
        stream.Position = 0;
        using var reader = new BinaryReader(stream);
        FeedForwardNetwork clone = Read(reader, stream.Length, CurrentVersion, validate: false);
        if (network.HasLegacyKernels)
            clone.KeepLegacyKernels();
        return clone;
    }

    private static FeedForwardNetwork Read(BinaryReader reader, long? byteCount, uint formatVersion, bool validate)
    {
        int kind = FirstVersionKindCode;
        if (formatVersion >= KindCodeVersion)
        {
            if (byteCount < sizeof(int))
                throw Corrupt($"the model block holds {byteCount} bytes, too few for the network kind.");
            kind = PayloadFormat.ReadInt32(reader);
            byteCount -= sizeof(int);
        }
        var payload = new PayloadReader(reader, byteCount);
        INetworkCodec codec = NetworkCodecs.Find(kind) ?? throw Corrupt($"unknown network kind {kind}.");
        FeedForwardNetwork network = codec.ReadPayload(payload, formatVersion);
        payload.CheckAtEnd();
        if (formatVersion < NarrowKernelsVersion)
            network.KeepLegacyKernels();
        if (validate)
            Validate(network);
        return network;
    }

    /// <summary>
    /// Reads the network a wrapper kind (an input stage, a table of repeated rows) holds after its own fields: its kind code, which
    /// may not be the wrapper's own, and its payload, which fills the rest of <paramref name="payload"/>.
    /// </summary>
    /// <param name="payload">The wrapper's payload, positioned at the inner kind code.</param>
    /// <param name="used">Bytes of the wrapper's payload read before the inner kind code.</param>
    /// <param name="formatVersion">The model file's format version.</param>
    /// <param name="ownKind">The wrapper's kind code, which the inner network may not have.</param>
    /// <param name="wrapper">The wrapper in words, for the messages ("the input stage").</param>
    /// <param name="nested">The message when the inner kind is the wrapper's own.</param>
    internal static FeedForwardNetwork ReadInner(PayloadReader payload, long used, uint formatVersion, int ownKind, string wrapper, string nested)
    {
        int innerKind = payload.ReadInt32();
        if (innerKind == ownKind)
            throw Corrupt(nested);
        INetworkCodec codec = NetworkCodecs.Find(innerKind) ?? throw Corrupt($"unknown network kind {innerKind} behind {wrapper}.");
        var innerPayload = new PayloadReader(payload.Reader, payload.ByteCount - used - sizeof(int));
        FeedForwardNetwork inner = codec.ReadPayload(innerPayload, formatVersion);
        innerPayload.CheckAtEnd();
        return inner;
    }

    /// <summary>Checks that every weight is finite and that no value can overflow for inputs in [-1, 1].</summary>
    public static void Validate(FeedForwardNetwork network)
    {
        if (!network.IsFinite())
            throw Corrupt("a stored weight is NaN or infinite.");
        double bound = network.UnitBoxBound();
        if (!(bound <= FeedForwardNetwork.MaxUnitBoxMagnitude))
        {
            string reach = double.IsInfinity(bound) ? "beyond the float range" : "up to " + bound.ToString("E2", CultureInfo.InvariantCulture);
            throw Corrupt($"the stored weights are so large that inputs in [-1, 1] could produce values {reach} "
                + "(the limit is 1e36), so scores would overflow to infinity or NaN.");
        }
    }
}
