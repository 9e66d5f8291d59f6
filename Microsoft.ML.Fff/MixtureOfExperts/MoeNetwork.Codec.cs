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
        WriteFields(writer, InputCount, OutputCount, ExpertCount, ExpertWidth, TopK, (int)Gating, 0);
        WriteArrays(writer, Arrays);
    }

    /// <summary>Reads the mixture-of-experts payload, checking every shape field against its range and the bytes there before allocating.</summary>
    internal static MoeNetwork LoadPayload(PayloadReader payload)
    {
        int[] fields = payload.ReadFields(7, "mixture-of-experts shape fields");
        int inputCount = fields[0], outputCount = fields[1], experts = fields[2], width = fields[3], topK = fields[4];
        if (!InputsOutputsInRange(inputCount, outputCount) || experts < 2 || experts > MaxExperts || width < 1 || width > MaxExpertWidth || topK < 1 || topK > experts)
            throw Corrupt($"mixture-of-experts shape (inputs {inputCount}, outputs {outputCount}, experts {experts}, expert width {width}, top-k {topK}) is out of range.");
        CheckKnownCode(fields[5] is (int)MoeGating.SoftmaxTopK or (int)MoeGating.Sigma, "gating", fields[5]);
        CheckKnownCode(fields[6] == 0, "activation", fields[6]);

        long units = (long)experts * width;
        long floats = experts * (inputCount + 1L) + units * (inputCount + 1L + outputCount) + outputCount;
        if (floats > int.MaxValue || units * inputCount > int.MaxValue || units * outputCount > int.MaxValue)
            throw TooManyWeights();
        string shape = $"inputs {inputCount}, outputs {outputCount}, experts {experts}, expert width {width}, top-k {topK}";
        payload.Require(6 * sizeof(int) + floats * sizeof(float), shape, last: true);

        var network = new MoeNetwork(inputCount, outputCount, experts, width, topK, (MoeGating)fields[5]);
        payload.ReadArrays(network.Arrays, "gate weights", "gate biases", "expert hidden weights", "expert hidden biases", "expert output weights", "output bias");
        return network;
    }
}

/// <summary>The mixture of experts (kind 2).</summary>
internal sealed class MixtureOfExpertsKind() : NetworkKindDescriptor(NetworkKind.MixtureOfExperts, typeof(MoeNetwork), FffArchitecture.MixtureOfExperts)
{
    public override FeedForwardNetwork ReadPayload(PayloadReader payload, uint formatVersion) => MoeNetwork.LoadPayload(payload);

    public override string WriteOnnx(OnnxGraph graph, FeedForwardNetwork network, string features) => MoeOnnx.Write(graph, (MoeNetwork)network, features);
}
