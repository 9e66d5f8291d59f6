using System.IO;
using Microsoft.ML.Fff.Persistence;

namespace Microsoft.ML.Fff.Scoring;

// The persistence side of every network, kept in this room so that the scoring room never refers to the file format.
internal abstract partial class FeedForwardNetwork
{
    /// <summary>Writes the kind code and the payload (<see cref="NetworkFormat.Save"/>).</summary>
    public void Save(BinaryWriter writer) => NetworkFormat.Save(this, writer);

    /// <summary>Reads and validates a network written by <see cref="Save"/> (<see cref="NetworkFormat.Load"/>).</summary>
    public static FeedForwardNetwork Load(BinaryReader reader, long? byteCount = null) => NetworkFormat.Load(reader, byteCount);

    /// <summary>A deep copy (through the binary format, without the load-time checks).</summary>
    public FeedForwardNetwork Clone() => NetworkFormat.Clone(this);

    /// <summary>Writes this kind's payload (everything after the kind code).</summary>
    protected internal abstract void SavePayload(BinaryWriter writer);
}
