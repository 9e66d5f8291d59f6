using System.IO;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.Scoring;
using static Microsoft.ML.Fff.Persistence.ModelFormat;
using static Microsoft.ML.Fff.Persistence.PayloadFormat;

[assembly: NetworkKind(typeof(Microsoft.ML.Fff.FastFeedForward.NeuronTreeKind))]

namespace Microsoft.ML.Fff.FastFeedForward;

// The payload codec: how this network is written to and read from a model file (see Persistence/NetworkFormat.cs).
internal sealed partial class NeuronTreeNetwork
{
    // *** Binary format of the neuron-tree payload (after the network kind code 3, see Persistence/NetworkFormat.cs) ***
    // int32  input count I            (1 .. 2^28)
    // int32  output count O           (1 .. 2^20)
    // int32  tree count K             (1 .. MaxStoredTrees)
    // int32  depth D                  (0 .. MaxStoredDepth); N = 2^(D+1) - 1 nodes per tree
    // int32  activation               (1 = GELU, tanh approximation; the only value so far)
    // int32  routing rule             (0 = right child when x . w + b > 0, strictly; the only value so far)
    // then four float arrays, each as int32 count followed by count float32 values, in this order and with these counts:
    //   node weights K*N*I (neuron t*N + n, row-major), node biases K*N, node output vectors K*N*O, output biases O.
    // The payload's total weight count must not exceed int.MaxValue. Introduced with format 0x00010002.

    /// <summary>Activation code stored in the payload: GELU with the tanh approximation.</summary>
    private const int GeluTanhCode = 1;

    /// <summary>Routing rule code stored in the payload: right child when the node value is strictly positive.</summary>
    private const int StrictlyPositiveRightCode = 0;

    protected internal override void SavePayload(BinaryWriter writer)
    {
        writer.Write(InputCount);
        writer.Write(OutputCount);
        writer.Write(TreeCount);
        writer.Write(Depth);
        writer.Write(GeluTanhCode);
        writer.Write(StrictlyPositiveRightCode);
        WriteArray(writer, NodeWeights);
        WriteArray(writer, NodeBiases);
        WriteArray(writer, OutputWeights);
        WriteArray(writer, OutputBiases);
    }

    /// <summary>
    /// Number of floats a network of this shape stores, or -1 when it exceeds <see cref="int.MaxValue"/>
    /// (no shape within the stored limits overflows a long here).
    /// </summary>
    internal static long WeightCount(int inputCount, int outputCount, int treeCount, int depth)
    {
        long neurons = (long)treeCount * ((2L << depth) - 1);
        long floats = neurons * (inputCount + 1L + outputCount) + outputCount;
        return floats > int.MaxValue ? -1 : floats;
    }

    /// <summary>Reads the neuron-tree payload, checking every size against the limits and the stream before allocating.</summary>
    internal static NeuronTreeNetwork LoadPayload(PayloadReader payload)
    {
        const int headerFields = 6;
        if (payload.ByteCount < headerFields * sizeof(int))
            throw Corrupt($"the model block holds {payload.ByteCount} bytes, fewer than the {headerFields * sizeof(int)} bytes of the shape fields.");
        int inputCount = payload.ReadInt32();
        int outputCount = payload.ReadInt32();
        int treeCount = payload.ReadInt32();
        int depth = payload.ReadInt32();
        int activation = payload.ReadInt32();
        int routing = payload.ReadInt32();
        if (inputCount < 1 || inputCount > (1 << 28) || outputCount < 1 || outputCount > (1 << 20)
            || treeCount < 1 || treeCount > MaxStoredTrees || depth < 0 || depth > MaxStoredDepth)
        {
            throw Corrupt($"shape (inputs {inputCount}, outputs {outputCount}, trees {treeCount}, depth {depth}) is out of range.");
        }
        if (activation != GeluTanhCode)
            throw Corrupt($"unknown activation code {activation}.");
        if (routing != StrictlyPositiveRightCode)
            throw Corrupt($"unknown routing rule code {routing}.");
        long floats = WeightCount(inputCount, outputCount, treeCount, depth);
        if (floats < 0)
            throw Corrupt("the declared shape needs more weights than one array can hold.");
        string shape = $"inputs {inputCount}, outputs {outputCount}, trees {treeCount}, depth {depth}";
        payload.Require(4 * sizeof(int) + floats * sizeof(float), shape, last: true);

        var network = new NeuronTreeNetwork(inputCount, outputCount, treeCount, depth);
        ReadArray(payload.Reader, network.NodeWeights, "node weights");
        ReadArray(payload.Reader, network.NodeBiases, "node biases");
        ReadArray(payload.Reader, network.OutputWeights, "node output vectors");
        ReadArray(payload.Reader, network.OutputBiases, "output biases");
        return network;
    }
}

/// <summary>The fast feedforward network with neuron nodes (kind 3): trains exactly the function it scores.</summary>
internal sealed class NeuronTreeKind() : NetworkKindDescriptor(NetworkKind.NeuronTree, typeof(NeuronTreeNetwork), FffArchitecture.FastFeedForward)
{
    public override FeedForwardNetwork ReadPayload(PayloadReader payload, uint formatVersion) => NeuronTreeNetwork.LoadPayload(payload);

    public override int Depth(FeedForwardNetwork network) => ((NeuronTreeNetwork)network).Depth;
}
