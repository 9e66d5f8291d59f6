using System;
using System.IO;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.Scoring;
using static Microsoft.ML.Fff.Persistence.ModelFormat;
using static Microsoft.ML.Fff.Persistence.PayloadFormat;

[assembly: NetworkKind(typeof(Microsoft.ML.Fff.FastFeedForward.EmbeddingBagKind))]

namespace Microsoft.ML.Fff.FastFeedForward;

// The payload codec: how this network is written to and read from a model file (see Persistence/NetworkFormat.cs).
internal sealed partial class EmbeddingBagNetwork
{
    // *** Binary format of the embedding-bag payload (after the network kind code 4, see Persistence/NetworkFormat.cs) ***
    // int32  input count V            (1 .. 2^28): the vocabulary width of the feature vector
    // int32  embedding dimension d    (1 .. MaxDimension)
    // float array: int32 count V * d, then V * d float32 values, token-major (token i's embedding at [i*d, i*d + d))
    // int32  head kind                (0 = FFF with leaves, 3 = FFF with neuron nodes; nothing else)
    // then the head's own payload (FastFeedForwardNetwork.SavePayload or NeuronTreeNetwork.SavePayload) with d inputs.
    // Version history: added in model format 0x00010002 (the model parameters' VersionInfo is unchanged: a reader that does
    // not know kind 4 rejects the file as "unknown network kind 4").

    protected internal override void SavePayload(BinaryWriter writer)
    {
        writer.Write(InputCount);
        writer.Write(Dimension);
        WriteArray(writer, Embeddings);
        Head.Save(writer);
    }

    /// <summary>Reads the payload, checking the declared table against the bytes present before allocating it.</summary>
    internal static EmbeddingBagNetwork LoadPayload(PayloadReader payload)
    {
        const int fields = 2 * sizeof(int);
        if (payload.ByteCount < fields)
            throw Corrupt($"the model block holds {payload.ByteCount} bytes, fewer than the {fields} bytes of the embedding-bag shape fields.");
        int inputCount = payload.ReadInt32();
        int dimension = payload.ReadInt32();
        if (inputCount < 1 || inputCount > MaxInputs || dimension < 1 || dimension > MaxDimension)
            throw Corrupt($"embedding-bag shape (inputs {inputCount}, dimension {dimension}) is out of range.");
        long floats = (long)inputCount * dimension;
        if (floats > int.MaxValue)
            throw Corrupt("the declared embedding table needs more weights than one array can hold.");
        long tableBytes = sizeof(int) + floats * sizeof(float);
        // The table, the head's kind code and at least the head's own shape fields must follow.
        payload.Require(tableBytes + sizeof(int), $"embedding bag of {inputCount} inputs x dimension {dimension}", last: false);
        var table = new float[floats];
        ReadArray(payload.Reader, table, "embedding table");
        int headKind = payload.ReadInt32();
        long? headBytes = payload.ByteCount - (fields + tableBytes + sizeof(int));
        var headPayload = new PayloadReader(payload.Reader, headBytes);
        FeedForwardNetwork head = headKind switch
        {
            (int)NetworkKind.FastFeedForward => FastFeedForwardNetwork.LoadPayload(headPayload, withMasterLeaf: true),
            (int)NetworkKind.NeuronTree => NeuronTreeNetwork.LoadPayload(headPayload),
            _ => throw Corrupt($"the embedding bag's head has kind {headKind}; only an FFF (0 or 3) can follow the table."),
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
