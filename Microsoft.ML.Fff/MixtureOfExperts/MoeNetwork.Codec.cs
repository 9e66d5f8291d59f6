using System.IO;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Onnx;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.Scoring;
using static Microsoft.ML.Fff.Persistence.ModelFormat;
using static Microsoft.ML.Fff.Persistence.PayloadFormat;

[assembly: NetworkPlugin(typeof(Microsoft.ML.Fff.MixtureOfExperts.MixtureOfExpertsKind))]

namespace Microsoft.ML.Fff.MixtureOfExperts;

// The payload codec: how this network is written to and read from a model file (see Persistence/NetworkFormat.cs).
internal sealed partial class MoeNetwork
{
    // *** Binary format of the mixture-of-experts payload (after the network kind code 2, see Persistence/NetworkFormat.cs) ***
    // int32  input count I            (1 .. 2^28)
    // int32  output count O           (1 .. 2^20)
    // int32  expert count E           (2 .. MaxExperts = 4096)
    // int32  expert width G           (1 .. MaxExpertWidth = 2^16)
    // int32  top k                    (1 .. E)
    // int32  gating                   (MoeGating: 0 = top-k softmax, 1 = sigma)
    // int32  activation               (0 = ReLU; the only value so far)
    // then six float arrays, each as int32 count followed by count float32 values, in this order and with these counts:
    //   gate weights E * I, gate biases E, hidden weights E * G * I, hidden biases E * G, output weights E * G * O,
    //   output bias O.
    // Version history: introduced with model format 0x00010002 (the first with a network kind code); no change since.
    // Readers older than that format reject kind 2 as an unknown network kind.

    protected internal override void SavePayload(BinaryWriter writer)
    {
        writer.Write(InputCount);
        writer.Write(OutputCount);
        writer.Write(ExpertCount);
        writer.Write(ExpertWidth);
        writer.Write(TopK);
        writer.Write((int)Gating);
        writer.Write(0);
        foreach (float[] array in Arrays)
            WriteArray(writer, array);
    }

    /// <summary>Reads the mixture-of-experts payload, checking every shape field against its range and the bytes there before allocating.</summary>
    internal static MoeNetwork LoadPayload(PayloadReader payload)
    {
        if (payload.ByteCount < 7 * sizeof(int))
            throw Corrupt($"the model block holds {payload.ByteCount} bytes, fewer than the {7 * sizeof(int)} bytes of the mixture-of-experts shape fields.");
        int inputCount = payload.ReadInt32();
        int outputCount = payload.ReadInt32();
        int experts = payload.ReadInt32();
        int width = payload.ReadInt32();
        int topK = payload.ReadInt32();
        int gating = payload.ReadInt32();
        int activation = payload.ReadInt32();
        if (inputCount < 1 || inputCount > (1 << 28) || outputCount < 1 || outputCount > (1 << 20)
            || experts < 2 || experts > MaxExperts || width < 1 || width > MaxExpertWidth || topK < 1 || topK > experts)
        {
            throw Corrupt($"mixture-of-experts shape (inputs {inputCount}, outputs {outputCount}, experts {experts}, expert width {width}, top-k {topK}) is out of range.");
        }
        if (gating is not ((int)MoeGating.SoftmaxTopK or (int)MoeGating.Sigma))
            throw Corrupt($"unknown gating code {gating}.");
        if (activation != 0)
            throw Corrupt($"unknown activation code {activation}.");

        long units = (long)experts * width;
        long floats = experts * (inputCount + 1L) + units * (inputCount + 1L + outputCount) + outputCount;
        if (floats > int.MaxValue || units * inputCount > int.MaxValue || units * outputCount > int.MaxValue)
            throw Corrupt("the declared shape needs more weights than one array can hold.");
        string shape = $"inputs {inputCount}, outputs {outputCount}, experts {experts}, expert width {width}, top-k {topK}";
        payload.Require(6 * sizeof(int) + floats * sizeof(float), shape, last: true);

        var network = new MoeNetwork(inputCount, outputCount, experts, width, topK, (MoeGating)gating);
        ReadArray(payload.Reader, network.GateWeights, "gate weights");
        ReadArray(payload.Reader, network.GateBiases, "gate biases");
        ReadArray(payload.Reader, network.HiddenWeights, "expert hidden weights");
        ReadArray(payload.Reader, network.HiddenBiases, "expert hidden biases");
        ReadArray(payload.Reader, network.OutputWeights, "expert output weights");
        ReadArray(payload.Reader, network.OutputBias, "output bias");
        return network;
    }
}

/// <summary>The mixture of experts (kind 2).</summary>
internal sealed class MixtureOfExpertsKind() : NetworkKindDescriptor(NetworkKind.MixtureOfExperts, typeof(MoeNetwork), FffArchitecture.MixtureOfExperts)
{
    public override FeedForwardNetwork ReadPayload(PayloadReader payload, uint formatVersion) => MoeNetwork.LoadPayload(payload);

    public override string WriteOnnx(OnnxGraph graph, FeedForwardNetwork network, string features) => MoeOnnx.Write(graph, (MoeNetwork)network, features);
}
