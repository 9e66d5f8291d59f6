using System;
using System.IO;
using System.Linq;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Onnx;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.Scoring;
using static Microsoft.ML.Fff.Persistence.ModelFormat;
using static Microsoft.ML.Fff.Persistence.PayloadFormat;

[assembly: NetworkPlugin(typeof(Microsoft.ML.Fff.FastFeedForward.FastFeedForwardKind))]
[assembly: NetworkPlugin(typeof(Microsoft.ML.Fff.FastFeedForward.NeuronTreeKind))]
[assembly: NetworkPlugin(typeof(Microsoft.ML.Fff.FastFeedForward.EmbeddingBagKind))]
[assembly: NetworkPlugin(typeof(Microsoft.ML.Fff.FastFeedForward.LeafTreeEnsembleKind))]

namespace Microsoft.ML.Fff.FastFeedForward;

// The payload codecs of the fast feedforward kinds (leaves, neuron trees, embedding bag, leaf-tree ensembles): how each network is written to
// and read from a model file (see Persistence/NetworkFormat.cs), and each kind's descriptor.

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
        WriteFields(writer, InputCount, OutputCount, Depth, LeafWidth, 0);
        WriteArrays(writer, Arrays.Take(LeafArrayCount));
        writer.Write(MasterWidth);
        WriteArrays(writer, Arrays.Skip(LeafArrayCount));
    }

    /// <summary>The tree's own arrays, which open <see cref="Arrays"/> and the payload; the master leaf's arrays (if any) follow.</summary>
    private const int LeafArrayCount = 6;

    /// <summary>Bytes of an array of <paramref name="count"/> floats with its count.</summary>
    private static long ArrayBytes(long count) => sizeof(int) + count * sizeof(float);

    /// <summary>
    /// Reads the FFF payload; <paramref name="withMasterLeaf"/> is false for format 0x00010001, which has no master-leaf field.
    /// <paramref name="last"/> is false when more follows in the same payload (a member of an ensemble that is not the last).
    /// </summary>
    internal static FastFeedForwardNetwork LoadPayload(PayloadReader payload, bool withMasterLeaf, bool last = true)
    {
        int[] fields = payload.ReadFields(5, "shape fields");
        int inputCount = fields[0], outputCount = fields[1], depth = fields[2], leafWidth = fields[3];
        if (!InputsOutputsInRange(inputCount, outputCount) || depth < 0 || depth > MaxStoredDepth || leafWidth < 1 || leafWidth > (1 << 16))
            throw Corrupt($"shape (inputs {inputCount}, outputs {outputCount}, depth {depth}, leaf width {leafWidth}) is out of range.");
        CheckKnownCode(fields[4] == 0, "activation", fields[4]);

        // Leaf units first: 2^24 leaves of 2^16 units times 2^28 inputs would overflow a long.
        long leaves = 1L << depth;
        long units = leaves * leafWidth;
        long floats = units > int.MaxValue
            ? long.MaxValue
            : (leaves - 1) * (inputCount + 1L) + units * (inputCount + 1L + outputCount) + leaves * outputCount;
        if (floats > int.MaxValue)
            throw TooManyWeights();
        string shape = $"inputs {inputCount}, outputs {outputCount}, depth {depth}, leaf width {leafWidth}";
        payload.Require(6 * sizeof(int) + floats * sizeof(float) + (withMasterLeaf ? sizeof(int) : 0), shape, last: last && !withMasterLeaf);

        // The master-leaf width follows the six arrays; read them into a master-less network first.
        var network = new FastFeedForwardNetwork(inputCount, outputCount, depth, leafWidth);
        payload.ReadArrays(network.Arrays, "node weights", "node biases", "hidden weights", "hidden biases", "output weights", "output biases");
        if (!withMasterLeaf)
            return network;
        int masterWidth = payload.ReadInt32();
        if (masterWidth < 0 || masterWidth > MaxMasterWidth)
            throw Corrupt($"master leaf width {masterWidth} is out of range (0 .. {MaxMasterWidth}).");
        if (masterWidth == 0)
        {
            payload.Require(0, shape, last);
            return network;
        }
        long masterFloats = masterWidth * (inputCount + 1L + outputCount) + outputCount + 1;
        if (floats + masterFloats > int.MaxValue)
            throw TooManyWeights();
        payload.Require(ArrayBytes(masterWidth * (long)inputCount) + ArrayBytes(masterWidth) + ArrayBytes(masterWidth * (long)outputCount)
            + ArrayBytes(outputCount) + ArrayBytes(1), shape + $", master leaf {masterWidth}", last);
        var withMaster = new FastFeedForwardNetwork(inputCount, outputCount, depth, leafWidth, masterWidth);
        foreach ((float[] from, float[] to) in network.Arrays.Zip(withMaster.Arrays))
            from.CopyTo(to, 0);
        payload.ReadArrays(withMaster.Arrays.Skip(LeafArrayCount),
            "master hidden weights", "master hidden biases", "master output weights", "master output biases", "master mixing logit");
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

    public override ISoftScorer CreateSoftScorer(FeedForwardNetwork network)
    {
        var fff = (FastFeedForwardNetwork)network;
        return new ScratchSoftScorer(fff.ScoreSoft, 2 * fff.LeafCount);
    }

    public override string WriteOnnx(OnnxGraph graph, FeedForwardNetwork network, string features)
        => FastFeedForwardOnnx.LeafTree(graph, (FastFeedForwardNetwork)network, features);
}

/// <summary>A leaf FFF's (or ensemble's) soft function: <c>ScoreSoft(features, output, scratch)</c>.</summary>
internal delegate void SoftScoreWithScratch(ReadOnlySpan<float> features, Span<float> output, Span<float> scratch);

/// <summary>A soft scorer that owns the scratch its network's soft pass needs (one instance per use).</summary>
internal sealed class ScratchSoftScorer(SoftScoreWithScratch score, int scratchFloats) : ISoftScorer
{
    private readonly float[] _scratch = new float[scratchFloats];

    public void ScoreSoft(ReadOnlySpan<float> features, Span<float> output) => score(features, output, _scratch);
}

internal sealed partial class LeafTreeEnsembleNetwork
{
    // *** Binary format of the leaf-tree ensemble payload (after the network kind code 6, see Persistence/NetworkFormat.cs) ***
    // int32  member count K           (2 .. MaxStoredMembers)
    // then K member payloads in member (summation) order, each exactly the FFF payload of kind 0 above (shape fields, six
    // arrays, master-leaf width and, when it is not 0, the master leaf's five arrays), all of one shape (inputs, outputs,
    // depth, leaf width, master-leaf width). The output is the mean of the members' outputs.
    // Version history: added within model format 0x00010002, as kind 4 was: the model parameters' VersionInfo is unchanged, so
    // a one-tree FFF (kind 0) is saved byte for byte as before, and a reader that does not know kind 5 rejects the file as
    // "unknown network kind 5".

    protected internal override void SavePayload(BinaryWriter writer)
    {
        writer.Write(TreeCount);
        foreach (FastFeedForwardNetwork member in Members)
            member.SavePayload(writer);
    }

    /// <summary>Reads the payload; each member's sizes are checked against the bytes left before its arrays are allocated.</summary>
    internal static LeafTreeEnsembleNetwork LoadPayload(PayloadReader payload)
    {
        int count = payload.ReadFields(1, "ensemble member count")[0];
        if (count < 2 || count > MaxStoredMembers)
            throw Corrupt($"ensemble member count {count} is out of range (2 .. {MaxStoredMembers}).");
        var members = new FastFeedForwardNetwork[count];
        long floats = 0;
        for (int t = 0; t < count; t++)
        {
            members[t] = FastFeedForwardNetwork.LoadPayload(payload, withMasterLeaf: true, last: t == count - 1);
            if (!SameShape(members[t], members[0]))
            {
                throw Corrupt($"ensemble member {t} ({members[t].Describe()}, {members[t].InputCount} inputs, {members[t].OutputCount} outputs) "
                    + $"differs in shape from member 0 ({members[0].Describe()}, {members[0].InputCount} inputs, {members[0].OutputCount} outputs).");
            }
            floats += members[t].Arrays.Sum(a => (long)a.Length);
            if (floats > int.MaxValue)
                throw TooManyWeights();
        }
        return new LeafTreeEnsembleNetwork(members);
    }
}

/// <summary>Leaf-tree ensemble (kind 6): K leaf FFFs of one shape, averaged; each member keeps its soft function.</summary>
internal sealed class LeafTreeEnsembleKind() : NetworkKindDescriptor(NetworkKind.LeafTreeEnsemble, typeof(LeafTreeEnsembleNetwork), FffArchitecture.FastFeedForward)
{
    public override FeedForwardNetwork ReadPayload(PayloadReader payload, uint formatVersion) => LeafTreeEnsembleNetwork.LoadPayload(payload);

    public override int Depth(FeedForwardNetwork network) => ((LeafTreeEnsembleNetwork)network).Depth;

    public override int LeafWidth(FeedForwardNetwork network) => ((LeafTreeEnsembleNetwork)network).LeafWidth;

    public override ISoftScorer CreateSoftScorer(FeedForwardNetwork network)
    {
        var ensemble = (LeafTreeEnsembleNetwork)network;
        return new ScratchSoftScorer(ensemble.ScoreSoft, ensemble.OutputCount + 2 * ensemble.Members[0].LeafCount);
    }

    public override string WriteOnnx(OnnxGraph graph, FeedForwardNetwork network, string features)
        => FastFeedForwardOnnx.LeafTreeEnsemble(graph, (LeafTreeEnsembleNetwork)network, features);
}

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
        WriteFields(writer, InputCount, OutputCount, TreeCount, Depth, GeluTanhCode, StrictlyPositiveRightCode);
        WriteArrays(writer, Arrays);
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
        int[] fields = payload.ReadFields(6, "shape fields");
        int inputCount = fields[0], outputCount = fields[1], treeCount = fields[2], depth = fields[3];
        if (!InputsOutputsInRange(inputCount, outputCount) || treeCount < 1 || treeCount > MaxStoredTrees || depth < 0 || depth > MaxStoredDepth)
            throw Corrupt($"shape (inputs {inputCount}, outputs {outputCount}, trees {treeCount}, depth {depth}) is out of range.");
        CheckKnownCode(fields[4] == GeluTanhCode, "activation", fields[4]);
        CheckKnownCode(fields[5] == StrictlyPositiveRightCode, "routing rule", fields[5]);
        long floats = WeightCount(inputCount, outputCount, treeCount, depth);
        if (floats < 0)
            throw TooManyWeights();
        string shape = $"inputs {inputCount}, outputs {outputCount}, trees {treeCount}, depth {depth}";
        payload.Require(4 * sizeof(int) + floats * sizeof(float), shape, last: true);

        var network = new NeuronTreeNetwork(inputCount, outputCount, treeCount, depth);
        payload.ReadArrays(network.Arrays, "node weights", "node biases", "node output vectors", "output biases");
        return network;
    }
}

/// <summary>The fast feedforward network with neuron nodes (kind 3): trains exactly the function it scores.</summary>
internal sealed class NeuronTreeKind() : NetworkKindDescriptor(NetworkKind.NeuronTree, typeof(NeuronTreeNetwork), FffArchitecture.FastFeedForward)
{
    public override FeedForwardNetwork ReadPayload(PayloadReader payload, uint formatVersion) => NeuronTreeNetwork.LoadPayload(payload);

    public override int Depth(FeedForwardNetwork network) => ((NeuronTreeNetwork)network).Depth;

    public override string WriteOnnx(OnnxGraph graph, FeedForwardNetwork network, string features)
        => FastFeedForwardOnnx.NeuronTrees(graph, (NeuronTreeNetwork)network, features);
}

internal sealed partial class EmbeddingBagNetwork
{
    // *** Binary format of the embedding-bag payload (after the network kind code 4, see Persistence/NetworkFormat.cs) ***
    // int32  input count V            (1 .. 2^28): the vocabulary width of the feature vector
    // int32  embedding dimension d    (1 .. MaxDimension)
    // float array: int32 count V * d, then V * d float32 values, token-major (token i's embedding at [i*d, i*d + d))
    // int32  head kind                (0 = FFF with leaves, 3 = FFF with neuron nodes, 5 = leaf-tree ensemble; nothing else)
    // then the head's own payload (FastFeedForwardNetwork, NeuronTreeNetwork or LeafTreeEnsembleNetwork.SavePayload) with d inputs.
    // Version history: added in model format 0x00010002 (the model parameters' VersionInfo is unchanged: a reader that does
    // not know kind 4 rejects the file as "unknown network kind 4").

    protected internal override void SavePayload(BinaryWriter writer)
    {
        WriteFields(writer, InputCount, Dimension);
        WriteArray(writer, Embeddings);
        Head.Save(writer);
    }

    /// <summary>Reads the payload, checking the declared table against the bytes present before allocating it.</summary>
    internal static EmbeddingBagNetwork LoadPayload(PayloadReader payload)
    {
        const int fieldBytes = 2 * sizeof(int);
        int[] fields = payload.ReadFields(2, "embedding-bag shape fields");
        int inputCount = fields[0], dimension = fields[1];
        if (inputCount < 1 || inputCount > MaxInputs || dimension < 1 || dimension > MaxDimension)
            throw Corrupt($"embedding-bag shape (inputs {inputCount}, dimension {dimension}) is out of range.");
        long floats = (long)inputCount * dimension;
        if (floats > int.MaxValue)
            throw Corrupt("the declared embedding table needs more weights than one array can hold.");
        long tableBytes = sizeof(int) + floats * sizeof(float);
        // The table, the head's kind code and at least the head's own shape fields must follow.
        payload.Require(tableBytes + sizeof(int), $"embedding bag of {inputCount} inputs x dimension {dimension}", last: false);
        var table = new float[floats];
        payload.ReadArray(table, "embedding table");
        int headKind = payload.ReadInt32();
        long? headBytes = payload.ByteCount - (fieldBytes + tableBytes + sizeof(int));
        var headPayload = new PayloadReader(payload.Reader, headBytes);
        FeedForwardNetwork head = headKind switch
        {
            (int)NetworkKind.FastFeedForward => FastFeedForwardNetwork.LoadPayload(headPayload, withMasterLeaf: true),
            (int)NetworkKind.NeuronTree => NeuronTreeNetwork.LoadPayload(headPayload),
            (int)NetworkKind.LeafTreeEnsemble => LeafTreeEnsembleNetwork.LoadPayload(headPayload),
            _ => throw Corrupt($"the embedding bag's head has kind {headKind}; only an FFF (0, 3 or 5) can follow the table."),
        };
        headPayload.CheckAtEnd();
        if (head.InputCount != dimension)
            throw Corrupt($"the embedding dimension is {dimension} but the head takes {head.InputCount} inputs.");
        return new EmbeddingBagNetwork(inputCount, head, table);
    }
}

/// <summary>A learned token embedding table feeding a fast feedforward head (kind 4): the head's shape and soft function.</summary>
internal sealed class EmbeddingBagKind() : NetworkKindDescriptor(NetworkKind.EmbeddingBag, typeof(EmbeddingBagNetwork), FffArchitecture.FastFeedForward)
{
    public override FeedForwardNetwork ReadPayload(PayloadReader payload, uint formatVersion) => EmbeddingBagNetwork.LoadPayload(payload);

    public override string WriteOnnx(OnnxGraph graph, FeedForwardNetwork network, string features)
        => FastFeedForwardOnnx.EmbeddingBag(graph, (EmbeddingBagNetwork)network, features);

    public override int Depth(FeedForwardNetwork network) => HeadKind(network, out FeedForwardNetwork head).Depth(head);

    public override int LeafWidth(FeedForwardNetwork network) => HeadKind(network, out FeedForwardNetwork head).LeafWidth(head);

    /// <summary>The head's soft function on the summed embedding; null when the head has none.</summary>
    public override ISoftScorer? CreateSoftScorer(FeedForwardNetwork network)
    {
        var bag = (EmbeddingBagNetwork)network;
        ISoftScorer? head = NetworkKinds.Of(bag.Head).CreateSoftScorer(bag.Head);
        return head is null ? null : new SoftScorer(bag, head);
    }

    private static NetworkKindDescriptor HeadKind(FeedForwardNetwork network, out FeedForwardNetwork head)
    {
        head = ((EmbeddingBagNetwork)network).Head;
        return NetworkKinds.Of(head);
    }

    private sealed class SoftScorer : ISoftScorer
    {
        private readonly EmbeddingBagNetwork _bag;
        private readonly ISoftScorer _head;
        private readonly float[] _embedded;

        public SoftScorer(EmbeddingBagNetwork bag, ISoftScorer head)
        {
            _bag = bag;
            _head = head;
            _embedded = new float[bag.Dimension];
        }

        public void ScoreSoft(ReadOnlySpan<float> features, Span<float> output)
        {
            _bag.Embed(features, _embedded);
            _head.ScoreSoft(_embedded, output);
        }
    }
}
