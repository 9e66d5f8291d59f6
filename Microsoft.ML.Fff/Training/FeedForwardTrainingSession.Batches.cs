using System;
using System.Linq;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.Training;

// Batch building: scaled feature and target tensors per mini-batch, and the image shift augmentation applied while building.
internal sealed partial class FeedForwardTrainingSession
{
    /// <summary>Rejects, before training, features that shift augmentation cannot move as images.</summary>
    private void CheckImageShape()
    {
        int pixels = _options.ImageHeight * _options.ImageWidth;
        if (_sparseBatches)
        {
            throw _ch.Except($"ShiftAugmentation ({_options.ShiftAugmentation}) needs dense image features, but the feature column " +
                $"'{_options.FeatureColumnName}' is sparse; set ShiftAugmentation to 0 or densify the column.");
        }
        if (_train.FeatureCount % pixels != 0)
        {
            throw _ch.Except($"ShiftAugmentation needs the feature column '{_options.FeatureColumnName}' to hold whole images of ImageHeight x ImageWidth = " +
                $"{_options.ImageHeight} x {_options.ImageWidth} = {pixels} pixels per channel, but it has {_train.FeatureCount} values; " +
                "set ImageHeight and ImageWidth to the size the images were resized to.");
        }
    }

    /// <summary>
    /// Copies <paramref name="source"/> (channels x height x width, planar, row-major) moved down by <paramref name="dy"/> and
    /// right by <paramref name="dx"/> pixels into <paramref name="destination"/>; pixels moved in from outside are 0.
    /// </summary>
    internal static void ShiftImage(ReadOnlySpan<float> source, int height, int width, int dy, int dx, Span<float> destination)
    {
        destination.Clear();
        int channels = source.Length / (height * width);
        int columns = width - Math.Abs(dx);
        int fromColumn = Math.Max(0, -dx), toColumn = Math.Max(0, dx);
        for (int c = 0; c < channels; c++)
        {
            int plane = c * height * width;
            for (int y = Math.Max(0, dy); y < Math.Min(height, height + dy); y++)
            {
                source.Slice(plane + (y - dy) * width + fromColumn, columns)
                      .CopyTo(destination.Slice(plane + y * width + toColumn, columns));
            }
        }
    }

    /// <summary>A batch of scaled features: dense, or a sparse COO tensor for wide, sparse data (never the whole data set).</summary>
    private Tensor BuildFeatures(TrainingTable table, ReadOnlySpan<int> rows, torch.Device device, bool augment = false)
    {
        int inputs = table.FeatureCount;
        if (table.IsSparse && _sparseBatches)
        {
            long nonZeros = 0;
            foreach (int r in rows)
                nonZeros += table.StoredCount(r);
            var indices = new long[2 * nonZeros];
            var values = new float[nonZeros];
            long at = 0;
            for (int b = 0; b < rows.Length; b++)
            {
                int r = rows[b];
                for (long k = table.RowStart[r]; k < table.RowStart[r + 1]; k++, at++)
                {
                    int slot = table.Indices[k];
                    indices[at] = b;
                    indices[nonZeros + at] = slot;
                    values[at] = table.Values[k] * _scale[slot];
                }
            }
            using Tensor indexTensor = tensor(indices, new long[] { 2, nonZeros });
            using Tensor valueTensor = tensor(values);
            using Tensor coo = sparse_coo_tensor(indexTensor, valueTensor, new long[] { rows.Length, inputs });
            return coo.to(device);
        }

        int needed = rows.Length * inputs;
        if (_batchBuffer.Length < needed)
            _batchBuffer = new float[needed];
        Span<float> buffer = _batchBuffer.AsSpan(0, needed);
        for (int b = 0; b < rows.Length; b++)
        {
            Span<float> row = buffer.Slice(b * inputs, inputs);
            table.CopyDenseRow(rows[b], row);
            if (augment && _shiftRandom != null)
            {
                // Shifted in raw pixel space, before standardization, so an empty border is a 0 pixel, not a 0 z-score.
                int limit = _options.ShiftAugmentation;
                int dy = _shiftRandom.Next(-limit, limit + 1), dx = _shiftRandom.Next(-limit, limit + 1);
                if (dy != 0 || dx != 0)
                {
                    if (_shiftBuffer.Length < inputs)
                        _shiftBuffer = new float[inputs];
                    row.CopyTo(_shiftBuffer);
                    ShiftImage(_shiftBuffer.AsSpan(0, inputs), _options.ImageHeight, _options.ImageWidth, dy, dx, row);
                }
            }
            // The stage's map takes raw values (a stage that scales has shift 0 and scale 1 here, so the order is moot for it).
            _architecture.MapInputRow(row);
            System.Numerics.Tensors.TensorPrimitives.Subtract(row, _shift, row);
            System.Numerics.Tensors.TensorPrimitives.Multiply(row, _scale, row);
        }
        return tensor(buffer.ToArray(), new long[] { rows.Length, inputs }, device: device);
    }

    /// <summary>
    /// The in-memory training table as scaled feature, target and weight tensors, built once, or null where that does not apply:
    /// streamed data, sparse (COO) batches, shift augmentation (drawn per batch), or a dense copy larger than the in-memory limit.
    /// Each epoch then gathers the rows in the epoch's order once (<see cref="WholeTable.Permute"/>) and every batch is a slice of
    /// that: no per-batch arrays, row copies or tensor creations. The values are exactly those <see cref="BuildFeatures"/> and
    /// <see cref="BuildTargets"/> give, so training is unchanged to the bit.
    /// </summary>
    private WholeTable? CreateWholeTable(torch.Device device)
    {
        TrainingTable? table = _train.InMemory;
        if (table is null || _sparseBatches || _shiftRandom != null)
            return null;
        int inputs = table.FeatureCount, rows = table.RowCount;
        long values = (long)rows * inputs;
        if (values > Array.MaxLength || values * sizeof(float) > ((long)_options.InMemoryLimitMegabytes << 20))
            return null;
        var features = new float[values];
        for (int r = 0; r < rows; r++)
        {
            Span<float> row = features.AsSpan(r * inputs, inputs);
            table.CopyDenseRow(r, row);
            _architecture.MapInputRow(row);
            System.Numerics.Tensors.TensorPrimitives.Subtract(row, _shift, row);
            System.Numerics.Tensors.TensorPrimitives.Multiply(row, _scale, row);
        }
        int[] all = new int[rows];
        for (int r = 0; r < rows; r++)
            all[r] = r;
        (Tensor target, Tensor weight) = BuildTargets(table, all, device);
        return new WholeTable(tensor(features, new long[] { rows, inputs }, device: device).DetachFromDisposeScope(),
            target.DetachFromDisposeScope(), weight.DetachFromDisposeScope());
    }

    /// <summary>The whole training table as tensors (see <see cref="CreateWholeTable"/>); owns and disposes them.</summary>
    private sealed class WholeTable : IDisposable
    {
        private readonly Tensor _features, _targets, _weights;
        private long[] _order = Array.Empty<long>();

        public WholeTable(Tensor features, Tensor targets, Tensor weights)
        {
            _features = features;
            _targets = targets;
            _weights = weights;
        }

        /// <summary>Features, targets and weights gathered in <paramref name="order"/>; the caller disposes them.</summary>
        public (Tensor Features, Tensor Targets, Tensor Weights) Permute(int[] order)
        {
            if (_order.Length != order.Length)
                _order = new long[order.Length];
            for (int i = 0; i < order.Length; i++)
                _order[i] = order[i];
            using Tensor index = tensor(_order, device: _features.device);
            return (_features.index_select(0, index).DetachFromDisposeScope(), _targets.index_select(0, index).DetachFromDisposeScope(),
                _weights.index_select(0, index).DetachFromDisposeScope());
        }

        public void Dispose()
        {
            _features.Dispose();
            _targets.Dispose();
            _weights.Dispose();
        }
    }

    private (Tensor Target, Tensor Weight) BuildTargets(TrainingTable table, ReadOnlySpan<int> rows, torch.Device device)
    {
        var weights = new float[rows.Length];
        Tensor target;
        if (_kind == LabelKind.Multiclass)
        {
            var classes = new long[rows.Length];
            for (int b = 0; b < rows.Length; b++)
                classes[b] = (long)table.Labels[rows[b]];
            target = tensor(classes, device: device);
        }
        else
        {
            var labels = new float[rows.Length];
            for (int b = 0; b < rows.Length; b++)
                labels[b] = (table.Labels[rows[b]] - _labelShift) / _labelScale;
            target = tensor(labels, device: device);
        }
        for (int b = 0; b < rows.Length; b++)
            weights[b] = table.Weights?[rows[b]] ?? 1f;
        return (target, tensor(weights, device: device));
    }
}
