using System;
using System.IO;
using System.Linq;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.Scoring;
using static Microsoft.ML.Fff.Persistence.ModelFormat;
using static Microsoft.ML.Fff.Persistence.PayloadFormat;

[assembly: NetworkKind(typeof(Microsoft.ML.Fff.FastFeedForward.FastFeedForwardKind))]

namespace Microsoft.ML.Fff.FastFeedForward;

// The payload codec: how this network is written to and read from a model file (see Persistence/NetworkFormat.cs).
internal sealed partial class FastFeedForwardNetwork
{
    // *** Binary format of the FFF payload (after the network kind code 0, see Persistence/NetworkFormat.cs) ***
    // int32  input count I            (1 .. 2^28)
    // int32  output count O           (1 .. 2^20)
    // int32  depth D                  (0 .. MaxStoredDepth)
    // int32  leaf width L             (1 .. 2^16)
    // int32  activation               (0 = ReLU; the only value so far)
    // then six float arrays, each as int32 count followed by count float32 values, in this order and with these counts:
    //   node weights (2^D - 1) * I, node biases 2^D - 1, hidden weights 2^D * L * I, hidden biases 2^D * L,
    //   output weights 2^D * L * O, output biases 2^D * O.
    // then (format 0x00010002 and later) int32 master-leaf width M (0 .. MaxMasterWidth) and, when M > 0, five more arrays:
    //   master hidden weights M * I, master hidden biases M, master output weights M * O, master output biases O,
    //   mixing logit kappa (1 value).
    // Version history (the model parameters' VersionInfo carries the version):
    //   0x00010001  initial format: no network kind code, no master-leaf field.
    //   0x00010002  network kind code first (dense and mixture-of-experts models share the model parameters); master leaf.

    protected internal override void SavePayload(BinaryWriter writer)
    {
        writer.Write(InputCount);
        writer.Write(OutputCount);
        writer.Write(Depth);
        writer.Write(LeafWidth);
        writer.Write(0);
        WriteArray(writer, NodeWeights);
        WriteArray(writer, NodeBiases);
        WriteArray(writer, HiddenWeights);
        WriteArray(writer, HiddenBiases);
        WriteArray(writer, OutputWeights);
        WriteArray(writer, OutputBiases);
        writer.Write(MasterWidth);
        if (MasterWidth > 0)
        {
            WriteArray(writer, MasterHiddenWeights);
            WriteArray(writer, MasterHiddenBiases);
            WriteArray(writer, MasterOutputWeights);
            WriteArray(writer, MasterOutputBiases);
            WriteArray(writer, MasterMix);
        }
    }

    /// <summary>Bytes of an array of <paramref name="count"/> floats with its count.</summary>
    private static long ArrayBytes(long count) => sizeof(int) + count * sizeof(float);

    /// <summary>Reads the FFF payload; <paramref name="withMasterLeaf"/> is false for format 0x00010001, which has no master-leaf field.</summary>
    internal static FastFeedForwardNetwork LoadPayload(PayloadReader payload, bool withMasterLeaf)
    {
        if (payload.ByteCount < 5 * sizeof(int))
            throw Corrupt($"the model block holds {payload.ByteCount} bytes, fewer than the {5 * sizeof(int)} bytes of the shape fields.");
        int inputCount = payload.ReadInt32();
        int outputCount = payload.ReadInt32();
        int depth = payload.ReadInt32();
        int leafWidth = payload.ReadInt32();
        int activation = payload.ReadInt32();
        if (inputCount < 1 || inputCount > (1 << 28) || outputCount < 1 || outputCount > (1 << 20)
            || depth < 0 || depth > MaxStoredDepth || leafWidth < 1 || leafWidth > (1 << 16))
        {
            throw Corrupt($"shape (inputs {inputCount}, outputs {outputCount}, depth {depth}, leaf width {leafWidth}) is out of range.");
        }
        if (activation != 0)
            throw Corrupt($"unknown activation code {activation}.");

        // Leaf units first: 2^24 leaves of 2^16 units times 2^28 inputs would overflow a long.
        long leaves = 1L << depth;
        long units = leaves * leafWidth;
        long floats = units > int.MaxValue
            ? long.MaxValue
            : (leaves - 1) * (inputCount + 1L) + units * (inputCount + 1L + outputCount) + leaves * outputCount;
        if (floats > int.MaxValue)
            throw Corrupt("the declared shape needs more weights than one array can hold.");
        string shape = $"inputs {inputCount}, outputs {outputCount}, depth {depth}, leaf width {leafWidth}";
        payload.Require(6 * sizeof(int) + floats * sizeof(float) + (withMasterLeaf ? sizeof(int) : 0), shape, last: !withMasterLeaf);

        // The master-leaf width follows the six arrays; read them into a master-less network first.
        var network = new FastFeedForwardNetwork(inputCount, outputCount, depth, leafWidth);
        ReadArray(payload.Reader, network.NodeWeights, "node weights");
        ReadArray(payload.Reader, network.NodeBiases, "node biases");
        ReadArray(payload.Reader, network.HiddenWeights, "hidden weights");
        ReadArray(payload.Reader, network.HiddenBiases, "hidden biases");
        ReadArray(payload.Reader, network.OutputWeights, "output weights");
        ReadArray(payload.Reader, network.OutputBiases, "output biases");
        if (!withMasterLeaf)
            return network;
        int masterWidth = payload.ReadInt32();
        if (masterWidth < 0 || masterWidth > MaxMasterWidth)
            throw Corrupt($"master leaf width {masterWidth} is out of range (0 .. {MaxMasterWidth}).");
        if (masterWidth == 0)
        {
            payload.Require(0, shape, last: true);
            return network;
        }
        long masterFloats = masterWidth * (inputCount + 1L + outputCount) + outputCount + 1;
        if (floats + masterFloats > int.MaxValue)
            throw Corrupt("the declared shape needs more weights than one array can hold.");
        payload.Require(ArrayBytes(masterWidth * (long)inputCount) + ArrayBytes(masterWidth) + ArrayBytes(masterWidth * (long)outputCount)
            + ArrayBytes(outputCount) + ArrayBytes(1), shape + $", master leaf {masterWidth}", last: true);
        var withMaster = new FastFeedForwardNetwork(inputCount, outputCount, depth, leafWidth, masterWidth);
        foreach ((float[] from, float[] to) in network.Arrays.Zip(withMaster.Arrays))
            from.CopyTo(to, 0);
        ReadArray(payload.Reader, withMaster.MasterHiddenWeights, "master hidden weights");
        ReadArray(payload.Reader, withMaster.MasterHiddenBiases, "master hidden biases");
        ReadArray(payload.Reader, withMaster.MasterOutputWeights, "master output weights");
        ReadArray(payload.Reader, withMaster.MasterOutputBiases, "master output biases");
        ReadArray(payload.Reader, withMaster.MasterMix, "master mixing logit");
        return withMaster;
    }
}

/// <summary>The fast feedforward network with leaves (kind 0): hard descent to one leaf, a soft mixture in training.</summary>
internal sealed class FastFeedForwardKind() : NetworkKindDescriptor(NetworkKind.FastFeedForward, typeof(FastFeedForwardNetwork), FffArchitecture.FastFeedForward)
{
    /// <summary>Format 0x00010001 stored this kind without the master leaf.</summary>
    public override FeedForwardNetwork ReadPayload(PayloadReader payload, uint formatVersion)
        => FastFeedForwardNetwork.LoadPayload(payload, withMasterLeaf: formatVersion >= ModelFormat.KindCodeVersion);

    public override int Depth(FeedForwardNetwork network) => ((FastFeedForwardNetwork)network).Depth;

    public override int LeafWidth(FeedForwardNetwork network) => ((FastFeedForwardNetwork)network).LeafWidth;

    public override ISoftScorer CreateSoftScorer(FeedForwardNetwork network) => new SoftScorer((FastFeedForwardNetwork)network);

    private sealed class SoftScorer : ISoftScorer
    {
        private readonly FastFeedForwardNetwork _network;
        private readonly float[] _scratch;

        public SoftScorer(FastFeedForwardNetwork network)
        {
            _network = network;
            _scratch = new float[2 * network.LeafCount];
        }

        public void ScoreSoft(ReadOnlySpan<float> features, Span<float> output) => _network.ScoreSoft(features, output, _scratch);
    }
}
