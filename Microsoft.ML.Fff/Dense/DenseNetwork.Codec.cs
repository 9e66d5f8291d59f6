using System;
using System.IO;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Onnx;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.Scoring;
using static Microsoft.ML.Fff.Persistence.ModelFormat;
using static Microsoft.ML.Fff.Persistence.PayloadFormat;

[assembly: NetworkPlugin(typeof(Microsoft.ML.Fff.Dense.DenseKind))]

namespace Microsoft.ML.Fff.Dense;

// The payload codec: how this network is written to and read from a model file (see Persistence/NetworkFormat.cs).
internal sealed partial class DenseNetwork
{
    // *** Binary format of the dense payload (after the network kind code 1, see Persistence/NetworkFormat.cs) ***
    // int32  input count I            (1 .. 2^28)
    // int32  output count O           (1 .. 2^20)
    // int32  activation               (DenseActivation: 0 ReLU, 1 GELU tanh approximation, 2 tanh)
    // int32  hidden layer count L     (1 .. MaxStoredLayers)
    // int32  x L  hidden widths H_0 .. H_(L-1), each 1 .. MaxStoredWidth
    // then 2L + 2 float arrays, each as int32 count followed by count float32 values, in this order and with these counts:
    //   for l = 0 .. L-1: hidden weights H_l * F_l (F_0 = I, F_l = H_(l-1); row-major per neuron), hidden biases H_l;
    //   then output weights O * H_(L-1) (row-major per output), output biases O.
    // The total weight count must fit one array (int.MaxValue values).
    // Version history: introduced with model format 0x00010002 (the first with the network kind code); readers of that
    // format without the dense network reject it as "unknown network kind 1".

    protected internal override void SavePayload(BinaryWriter writer)
    {
        WriteFields(writer, InputCount, OutputCount, (int)Activation, _widths.Length);
        WriteFields(writer, _widths);
        WriteArrays(writer, Arrays);
    }

    /// <summary>Reads the dense payload, checking every size against the limits and the bytes present before allocating.</summary>
    internal static DenseNetwork LoadPayload(PayloadReader payload)
    {
        int[] fields = payload.ReadFields(4, "dense shape fields");
        int inputCount = fields[0], outputCount = fields[1], activation = fields[2], layers = fields[3];
        if (!InputsOutputsInRange(inputCount, outputCount) || layers < 1 || layers > MaxStoredLayers)
            throw Corrupt($"dense shape (inputs {inputCount}, outputs {outputCount}, {layers} hidden layers) is out of range.");
        CheckKnownCode(Enum.IsDefined((DenseActivation)activation), "activation", activation);
        payload.Require((long)layers * sizeof(int), $"{layers} hidden layers", last: false);
        var widths = new int[layers];
        for (int l = 0; l < layers; l++)
        {
            widths[l] = payload.ReadInt32();
            if (widths[l] < 1 || widths[l] > MaxStoredWidth)
                throw Corrupt($"hidden layer {l} has width {widths[l]}, out of range (1 .. {MaxStoredWidth}).");
        }
        // At most 64 layers of 2^16 x 2^28 weights: each term fits a long, and so does the sum.
        long floats = 0;
        long fanIn = inputCount;
        foreach (int width in widths)
        {
            floats += width * (fanIn + 1);
            fanIn = width;
        }
        floats += outputCount * (fanIn + 1);
        if (floats > int.MaxValue)
            throw TooManyWeights();
        string shape = $"inputs {inputCount}, outputs {outputCount}, hidden {string.Join("-", widths)}";
        payload.Require((2L * layers + 2) * sizeof(int) + floats * sizeof(float), shape, last: true);

        var network = new DenseNetwork(inputCount, outputCount, widths, (DenseActivation)activation);
        for (int l = 0; l < layers; l++)
        {
            payload.ReadArray(network.HiddenWeights[l], $"hidden layer {l} weights");
            payload.ReadArray(network.HiddenBiases[l], $"hidden layer {l} biases");
        }
        payload.ReadArray(network.OutputWeights, "output weights");
        payload.ReadArray(network.OutputBiases, "output biases");
        return network;
    }
}

/// <summary>The dense multi-layer perceptron (kind 1).</summary>
internal sealed class DenseKind() : NetworkKindDescriptor(NetworkKind.Dense, typeof(DenseNetwork), FffArchitecture.Dense)
{
    public override FeedForwardNetwork ReadPayload(PayloadReader payload, uint formatVersion) => DenseNetwork.LoadPayload(payload);

    public override string WriteOnnx(OnnxGraph graph, FeedForwardNetwork network, string features) => DenseOnnx.Write(graph, (DenseNetwork)network, features);
}
