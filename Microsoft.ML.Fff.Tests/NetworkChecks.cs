using System;
using System.IO;
using System.Linq;
using Microsoft.ML.Fff.Scoring;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>Checks every pure-C# network must pass, whatever its architecture.</summary>
internal static class NetworkChecks
{
    /// <summary>
    /// The network behind a clamp-only input stage (<c>ClampToTrainingRange</c>, on by default), or <paramref name="network"/> itself:
    /// tests that look at a kind's own weights and shape reach it through this.
    /// </summary>
    public static FeedForwardNetwork Unclamped(FeedForwardNetwork network)
        => network is Microsoft.ML.Fff.InputStages.InputStageNetwork { Map.Kind: Microsoft.ML.Fff.InputStages.FeatureMapKind.Clamp, Embedding: null } stage
            ? stage.Inner : network;

    /// <summary>Row-major rows of uniform values in [-1, 1).</summary>
    public static float[] RandomRows(int rows, int width, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, rows * width).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    /// <summary>100 random sparse rows (about 5 % of the slots set) score like the same rows made dense.</summary>
    public static void SparseRowsScoreLikeDenseRows(FeedForwardNetwork network, int seed = 4)
    {
        int inputs = network.InputCount, outputs = network.OutputCount;
        var random = new Random(seed);
        var dense = new float[inputs];
        var outDense = new float[outputs];
        var outSparse = new float[outputs];
        for (int trial = 0; trial < 100; trial++)
        {
            Array.Clear(dense);
            int[] indices = Enumerable.Range(0, inputs).Where(_ => random.NextDouble() < 0.05).ToArray();
            float[] values = indices.Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
            for (int k = 0; k < indices.Length; k++)
                dense[indices[k]] = values[k];
            network.Score(dense, outDense);
            network.Score(indices, values, outSparse);
            for (int o = 0; o < outputs; o++)
                Assert.AreEqual(outDense[o], outSparse[o], 1e-4f * (1 + Math.Abs(outDense[o])), $"trial {trial} output {o}");
        }
    }

    /// <summary>
    /// Scoring a dense and a sparse row (the network must have at least 64 inputs) allocates nothing once warm. The JIT's
    /// tier-up and on-stack replacement of a scorer's loops can allocate on this thread during the first rounds (seen in
    /// full-suite runs); a per-row allocation would show in every round, so one clean round of 200 rows within 50 is required.
    /// </summary>
    public static void ScoringAllocatesNothingPerRow(FeedForwardNetwork network)
    {
        float[] x = RandomRows(1, network.InputCount, seed: 4);
        int[] indices = { 1, 7, 30, 63 };
        float[] values = { 0.5f, -1f, 2f, 0.25f };
        var output = new float[network.OutputCount];
        network.Score(x, output);
        network.Score(indices, values, output);
        long allocated = AllocatedBytesOnceWarm(() =>
        {
            for (int i = 0; i < 200; i++)
            {
                network.Score(x, output);
                network.Score(indices, values, output);
            }
        });
        Assert.AreEqual(0, allocated, "bytes allocated by 200 rows in the last of 50 rounds");
    }

    /// <summary>
    /// Bytes <paramref name="round"/> allocates on this thread: 0 as soon as one of up to 50 rounds allocates nothing, else
    /// the last round's bytes. Rounds are 20 ms apart so the JIT's background tier-up can finish.
    /// </summary>
    public static long AllocatedBytesOnceWarm(Action round)
    {
        long allocated = 0;
        for (int attempt = 0; attempt < 50; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            round();
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            if (allocated == 0)
                return 0;
            System.Threading.Thread.Sleep(20);
        }
        return allocated;
    }

    /// <summary>
    /// Folding an input affine map and the output map <c>y * 3 - 1</c> into the weights (network with 8 inputs, 2 outputs)
    /// gives on raw rows what the unfolded network gives on transformed rows, within <paramref name="tolerance"/> (relative
    /// to the output's size when <paramref name="relative"/>).
    /// </summary>
    public static void FoldedScalingEqualsScaledInput(FeedForwardNetwork network, float tolerance = 1e-4f, bool relative = false)
    {
        var random = new Random(6);
        float[] shift = Enumerable.Range(0, 8).Select(_ => (float)random.NextDouble()).ToArray();
        float[] scale = Enumerable.Range(0, 8).Select(_ => 0.5f + (float)random.NextDouble()).ToArray();
        float[] x = RandomRows(1, 8, seed: 8);
        float[] scaled = x.Select((v, i) => (v - shift[i]) * scale[i]).ToArray();
        var expected = new float[2];
        network.Score(scaled, expected);
        network.FoldInputTransform(shift, scale);
        network.FoldOutputTransform(3f, -1f);
        var actual = new float[2];
        network.Score(x, actual);
        for (int o = 0; o < 2; o++)
            Assert.AreEqual(expected[o] * 3f - 1f, actual[o], relative ? tolerance * (1 + Math.Abs(expected[o] * 3f)) : tolerance, $"output {o}");
    }

    /// <summary>The network's bytes as <see cref="FeedForwardNetwork.Save"/> writes them (kind code and payload).</summary>
    public static byte[] SaveBytes(FeedForwardNetwork network)
    {
        var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            network.Save(writer);
        return stream.ToArray();
    }

    /// <summary>Loads <paramref name="bytes"/> as a model block of exactly that size.</summary>
    public static FeedForwardNetwork LoadBytes(byte[] bytes) => LoadBytes(bytes, bytes.Length);

    /// <summary>Loads <paramref name="bytes"/>; <paramref name="byteCount"/> is the size the container claims (null: unknown).</summary>
    public static FeedForwardNetwork LoadBytes(byte[] bytes, long? byteCount)
    {
        using var reader = new BinaryReader(new MemoryStream(bytes));
        return FeedForwardNetwork.Load(reader, byteCount);
    }

    /// <summary>Loading fails with exactly an <see cref="InvalidDataException"/> that says "Corrupt FFF model:".</summary>
    public static InvalidDataException ExpectCorrupt(byte[] bytes, long? byteCount)
    {
        var e = Assert.ThrowsExactly<InvalidDataException>(() => LoadBytes(bytes, byteCount),
            $"{bytes.Length} bytes, block {byteCount?.ToString() ?? "unknown"}");
        StringAssert.StartsWith(e.Message, "Corrupt FFF model:");
        return e;
    }

    /// <summary>Every prefix of a saved network, with its size known and unknown, and the network with 4 bytes more, are rejected.</summary>
    public static void TruncatedAndPaddedPayloadsAreRejected(byte[] bytes)
    {
        for (int length = 0; length < bytes.Length; length++)
        {
            ExpectCorrupt(bytes.AsSpan(0, length).ToArray(), length);
            ExpectCorrupt(bytes.AsSpan(0, length).ToArray(), null);
        }
        byte[] padded = bytes.Concat(new byte[4]).ToArray();
        ExpectCorrupt(padded, padded.Length);
    }

    /// <summary>
    /// <paramref name="trials"/> copies of <paramref name="bytes"/> with 1–3 random bytes replaced: each is rejected as
    /// "Corrupt FFF model:" or loads and scores every row of <paramref name="rows"/> (row-major) finitely. Returns how many loaded.
    /// </summary>
    public static int MutationsAreRejectedOrScoreFinitely(byte[] bytes, float[] rows, int trials, Random random)
    {
        int loaded = 0;
        for (int trial = 0; trial < trials; trial++)
        {
            byte[] copy = (byte[])bytes.Clone();
            for (int k = random.Next(1, 4); k > 0; k--)
                copy[random.Next(copy.Length)] = (byte)random.Next(256);
            FeedForwardNetwork network;
            try
            {
                network = LoadBytes(copy);
            }
            catch (InvalidDataException e)
            {
                StringAssert.StartsWith(e.Message, "Corrupt FFF model:", $"trial {trial}");
                continue;
            }
            loaded++;
            var output = new float[network.OutputCount];
            int inputs = network.InputCount;
            for (int r = 0; r < rows.Length / inputs; r++)
            {
                network.Score(rows.AsSpan(r * inputs, inputs), output);
                Assert.IsTrue(output.All(float.IsFinite), $"trial {trial}: a loaded model scores finitely");
            }
        }
        return loaded;
    }

    /// <summary>Saving and loading gives the same bytes again and bit-identical scores on <paramref name="rows"/> random rows; returns the loaded network.</summary>
    public static FeedForwardNetwork RoundTripIsBitIdentical(FeedForwardNetwork network, int rows = 50)
    {
        byte[] bytes = SaveBytes(network);
        FeedForwardNetwork loaded = LoadBytes(bytes);
        CollectionAssert.AreEqual(bytes, SaveBytes(loaded));
        int inputs = network.InputCount;
        float[] x = RandomRows(rows, inputs, seed: 3);
        var expected = new float[network.OutputCount];
        var actual = new float[network.OutputCount];
        for (int r = 0; r < rows; r++)
        {
            network.Score(x.AsSpan(r * inputs, inputs), expected);
            loaded.Score(x.AsSpan(r * inputs, inputs), actual);
            CollectionAssert.AreEqual(EstimatorWorkout.Bits(expected), EstimatorWorkout.Bits(actual), $"row {r}");
        }
        return loaded;
    }

    /// <summary>The bytes of the one entry of a saved ML.NET model zip whose model header carries our signature ("FFF…" at 0x40).</summary>
    public static byte[] OurModelEntry(byte[] zip)
    {
        using var archive = new System.IO.Compression.ZipArchive(new MemoryStream(zip), System.IO.Compression.ZipArchiveMode.Read);
        foreach (System.IO.Compression.ZipArchiveEntry entry in archive.Entries)
        {
            var bytes = new MemoryStream();
            using (Stream source = entry.Open())
                source.CopyTo(bytes);
            byte[] data = bytes.ToArray();
            if (data.Length > 0x100 && System.Text.Encoding.ASCII.GetString(data, 0x40, 3) == "FFF")
                return data;
        }
        throw new AssertFailedException("no entry carries an FFF model signature");
    }
}
