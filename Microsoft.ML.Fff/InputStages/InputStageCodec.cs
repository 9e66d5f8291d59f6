using System;
using System.IO;
using System.Linq;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Onnx;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.Scoring;
using static Microsoft.ML.Fff.Persistence.ModelFormat;
using static Microsoft.ML.Fff.Persistence.PayloadFormat;

[assembly: NetworkPlugin(typeof(Microsoft.ML.Fff.InputStages.InputStageKind))]

namespace Microsoft.ML.Fff.InputStages;

internal sealed partial class InputStageNetwork
{
    // *** Binary format of the input-stage payload (after the network kind code 5, see Persistence/NetworkFormat.cs) ***
    // int32  input count I                (1 .. 2^28)
    // int32  map kind                     (0 identity, 1 standardize, 2 quantile-normal, 3 robust smooth clip, 4 clamp)
    // int32  embedding kind               (0 none, 1 piecewise linear, 2 periodic)
    // int32  embedding width d            (1 .. 256; 0 without an embedding)
    // int32  embedding size T             (bins or frequencies, 1 .. 256; 0 without an embedding)
    // int32  embedded feature count E     (1 .. I; 0 without an embedding)
    // map, standardize, robust and clamp: two float arrays of I values each (shift and scale; centre and scale, scale > 0;
    //      lower and upper bounds, lower <= upper, float.MinValue and float.MaxValue for a slot left free);
    //      quantile-normal: I int32 knot counts (1 .. 256), then two float arrays of sum(counts) values: each feature's
    //      knots' x values (strictly increasing) and y values (non-decreasing); identity: nothing.
    // embedding: E int32 feature indices (strictly increasing, below I); piecewise linear: E int32 bin counts (1 .. T);
    //      then three float arrays: bin edges E*(T+1) (strictly increasing over a feature's bins, repeating its last edge after)
    //      or frequencies E*T; weights E*T*d or E*2T*d (input-major; periodic: the T sines, then the T cosines); biases E*d.
    // then the inner network: its int32 kind code (any registered kind except 5) and its payload, which fills the rest.
    // The inner network takes E*d + (I - E) inputs (embedding) or I (no embedding).
    // Version history: added in model format 0x00010003 (ModelFormat.ThirdVersion); older files never hold kind 5. Map kind 4
    // (clamp, with an inner network that has the feature scaling folded in) from 0x00010005 (ModelFormat.ClampVersion) on.

    protected internal override void SavePayload(BinaryWriter writer)
    {
        NumericEmbeddingLayer? e = Embedding;
        WriteFields(writer, InputCount, (int)Map.Kind, (int)(e?.Kind ?? FffNumericEmbedding.None), e?.Width ?? 0, e?.Size ?? 0, e?.Embedded.Length ?? 0);
        if (Map.Kind == FeatureMapKind.QuantileNormal)
            WriteFields(writer, Enumerable.Range(0, InputCount).Select(Map.KnotCount).ToArray());
        WriteArrays(writer, Map.Arrays);
        if (e != null)
        {
            WriteFields(writer, e.Embedded);
            if (e.Kind == FffNumericEmbedding.PiecewiseLinear)
                WriteFields(writer, e.BinCounts);
            WriteArrays(writer, e.Arrays);
        }
        NetworkFormat.Save(Inner, writer);
    }

    private static long ArrayBytes(long count) => sizeof(int) + count * sizeof(float);

    /// <summary>Reads the payload; every size is checked against the bytes there before anything is allocated.</summary>
    internal static InputStageNetwork LoadPayload(PayloadReader payload, uint formatVersion)
    {
        int[] fields = payload.ReadFields(6, "input-stage shape fields");
        int inputs = fields[0], mapCode = fields[1], embeddingCode = fields[2], width = fields[3], size = fields[4], embedded = fields[5];
        string shape = $"inputs {inputs}, map {mapCode}, embedding {embeddingCode} ({embedded} features x {size} -> {width})";
        if (inputs < 1 || inputs > MaxInputCount)
            throw Corrupt($"input-stage shape ({shape}) is out of range.");
        CheckKnownCode(mapCode is >= 0 and <= 3 || (mapCode == (int)FeatureMapKind.Clamp && formatVersion >= ClampVersion), "input map", mapCode);
        CheckKnownCode(embeddingCode is >= 0 and <= 2, "numeric embedding", embeddingCode);
        const int maxSize = FeedForwardOptionsBase.MaxNumericEmbeddingSize;
        bool hasEmbedding = embeddingCode != 0;
        if (hasEmbedding ? width < 1 || width > maxSize || size < 1 || size > maxSize || embedded < 1 || embedded > inputs
                         : width != 0 || size != 0 || embedded != 0)
            throw Corrupt($"input-stage shape ({shape}) is out of range.");
        long used = 6 * sizeof(int);

        var map = (FeatureMapKind)mapCode;
        FeatureMap featureMap;
        if (map == FeatureMapKind.Identity)
            featureMap = FeatureMap.Identity(inputs);
        else if (map == FeatureMapKind.QuantileNormal)
        {
            payload.Require(inputs * (long)sizeof(int), shape, last: false);
            var counts = new int[inputs];
            long knots = 0;
            for (int j = 0; j < inputs; j++)
            {
                counts[j] = payload.ReadInt32();
                if (counts[j] < 1 || counts[j] > FeatureMap.MaxKnots)
                    throw Corrupt($"feature {j} has {counts[j]} quantile knots (1 .. {FeatureMap.MaxKnots}).");
                knots += counts[j];
            }
            payload.Require(2 * ArrayBytes(knots), shape, last: false);
            var x = new float[knots];
            var y = new float[knots];
            payload.ReadArray(x, "quantile knots");
            payload.ReadArray(y, "normal quantiles");
            featureMap = FeatureMap.Quantile(counts, x, y);
            used += inputs * (long)sizeof(int) + 2 * ArrayBytes(knots);
        }
        else
        {
            payload.Require(2 * ArrayBytes(inputs), shape, last: false);
            var first = new float[inputs];
            var second = new float[inputs];
            payload.ReadArray(first, map switch { FeatureMapKind.Standardize => "shifts", FeatureMapKind.Clamp => "lower bounds", _ => "centres" });
            payload.ReadArray(second, map == FeatureMapKind.Clamp ? "upper bounds" : "scales");
            featureMap = map switch
            {
                FeatureMapKind.Standardize => FeatureMap.Standardize(first, second),
                FeatureMapKind.Clamp => FeatureMap.Clamp(first, second),
                _ => FeatureMap.Robust(first, second),
            };
            used += 2 * ArrayBytes(inputs);
        }
        if (featureMap.Problem() is string mapProblem)
            throw Corrupt(mapProblem);

        NumericEmbeddingLayer? layer = null;
        if (hasEmbedding)
        {
            var kind = (FffNumericEmbedding)embeddingCode;
            bool piecewise = kind == FffNumericEmbedding.PiecewiseLinear;
            long ints = embedded * (piecewise ? 2L : 1L);
            long floats = embedded * ((piecewise ? size + 1L : size) + (piecewise ? 1L : 2L) * size * width + width);
            if (floats > int.MaxValue)
                throw TooManyWeights();
            payload.Require(ints * sizeof(int) + 3 * sizeof(int) + floats * sizeof(float), shape, last: false);
            var indices = new int[embedded];
            for (int e = 0; e < embedded; e++)
            {
                indices[e] = payload.ReadInt32();
                if (indices[e] < 0 || indices[e] >= inputs || (e > 0 && indices[e] <= indices[e - 1]))
                    throw Corrupt($"the embedded feature indices are not increasing below {inputs} (index {indices[e]} at {e}).");
            }
            int[]? bins = null;
            if (piecewise)
            {
                bins = new int[embedded];
                for (int e = 0; e < embedded; e++)
                {
                    bins[e] = payload.ReadInt32();
                    if (bins[e] < 1 || bins[e] > size)
                        throw Corrupt($"embedded feature {indices[e]} has {bins[e]} bins (1 .. {size}).");
                }
            }
            layer = new NumericEmbeddingLayer(kind, inputs, indices, width, size, bins);
            payload.ReadArrays(layer.Arrays, piecewise ? "bin edges" : "frequencies", "embedding weights", "embedding biases");
            if (layer.Problem() is string layerProblem)
                throw Corrupt(layerProblem);
            layer.Refresh();
            used += ints * sizeof(int) + 3 * sizeof(int) + floats * sizeof(float);
        }

        FeedForwardNetwork inner = NetworkFormat.ReadInner(payload, used, formatVersion, (int)NetworkKind.InputStage, "the input stage",
            "an input stage holds another input stage.");
        int expected = layer?.OutputCount ?? inputs;
        if (inner.InputCount != expected || inner.OutputCount < 1)
            throw Corrupt($"the input stage gives {expected} values but the network behind it takes {inner.InputCount}.");
        return new InputStageNetwork(featureMap, layer, inner);
    }
}

/// <summary>An input stage in front of a network of any other kind (kind 5): the inner network's family, shape and soft function.</summary>
internal sealed class InputStageKind() : NetworkKindDescriptor(NetworkKind.InputStage, typeof(InputStageNetwork), FffArchitecture.FastFeedForward)
{
    public override FeedForwardNetwork ReadPayload(PayloadReader payload, uint formatVersion) => InputStageNetwork.LoadPayload(payload, formatVersion);

    public override FffArchitecture FamilyOf(FeedForwardNetwork network) => InnerKind(network, out FeedForwardNetwork inner).FamilyOf(inner);

    public override int Depth(FeedForwardNetwork network) => InnerKind(network, out FeedForwardNetwork inner).Depth(inner);

    public override int LeafWidth(FeedForwardNetwork network) => InnerKind(network, out FeedForwardNetwork inner).LeafWidth(inner);

    public override string WriteOnnx(OnnxGraph graph, FeedForwardNetwork network, string features)
        => InputStageOnnx.Write(graph, (InputStageNetwork)network, features);

    /// <summary>The inner network's soft function on the stage's output; null when the inner kind has none.</summary>
    public override ISoftScorer? CreateSoftScorer(FeedForwardNetwork network)
    {
        var stage = (InputStageNetwork)network;
        ISoftScorer? inner = InnerKind(network, out FeedForwardNetwork innerNetwork).CreateSoftScorer(innerNetwork);
        return inner is null ? null : new SoftScorer(stage, inner);
    }

    private static NetworkKindDescriptor InnerKind(FeedForwardNetwork network, out FeedForwardNetwork inner)
    {
        inner = ((InputStageNetwork)network).Inner;
        return NetworkKinds.Of(inner);
    }

    private sealed class SoftScorer(InputStageNetwork stage, ISoftScorer inner) : ISoftScorer
    {
        private readonly float[] _buffer = new float[stage.TransformFloats];

        public void ScoreSoft(ReadOnlySpan<float> features, Span<float> output) => inner.ScoreSoft(stage.TransformRow(features, _buffer), output);
    }
}
