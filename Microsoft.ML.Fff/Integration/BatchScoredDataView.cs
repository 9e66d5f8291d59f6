using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Numeric;

namespace Microsoft.ML.Fff;

/// <summary>
/// The output of an ML.NET prediction transformer over one of our models, computed a block of rows at a time with the
/// grouped batch kernels (<see cref="FffModelParametersBase{TOutput}.ScoreBatch"/>) instead of one mapper call per row.
/// </summary>
/// <remarks>
/// ML.NET's scorers hand a model one row at a time, so grouping rows by leaf or expert needs rows that have not been
/// reached yet. A cursor here therefore reads the source twice, in step: a read-ahead cursor over the feature column
/// fills a block of rows and scores it in one call, and the main cursor serves the source columns the consumer asked for
/// while the score columns come from the block. Both are plain (unshuffled) cursors over the same view, whose rows come in
/// the same order; every row's id is compared to make sure of it. The schema, the column values and their bits are those
/// of ML.NET's own scorer (<see cref="_rowByRow"/>), which serves every request this view cannot group: shuffled cursors,
/// cursors that need no score column, and scorers with columns or options this view does not know.
/// </remarks>
internal sealed partial class BatchScoredDataView : IDataView
{
    private enum Output
    {
        Score,
        Probability,
        PredictedLabel,
    }

    private readonly IDataView _source;
    private readonly IDataView _rowByRow;
    private readonly IFffScoringModel _model;
    private readonly int _featureColumn;
    private readonly int _rowsPerBlock;
    private readonly float _threshold;
    private readonly bool _thresholdOnProbability;
    private readonly bool _multiclass;

    /// <summary>What each added column (output column index minus the source's column count) holds; null when a column is not understood.</summary>
    private readonly Output[]? _outputs;

    /// <param name="source">The prediction transformer's input.</param>
    /// <param name="rowByRow">ML.NET's scorer over <paramref name="source"/> (the prediction transformer's <c>Transform</c>).</param>
    /// <param name="model">The model of the prediction transformer.</param>
    /// <param name="featureColumnName">Its feature column.</param>
    /// <param name="rowsPerBlock">Rows scored per call (fewer for very wide rows).</param>
    /// <param name="threshold">Binary classification: the prediction transformer's threshold.</param>
    /// <param name="thresholdColumn">Binary classification: the column the threshold applies to.</param>
    public BatchScoredDataView(IDataView source, IDataView rowByRow, IFffScoringModel model, string featureColumnName, int rowsPerBlock,
        float threshold = 0, string? thresholdColumn = null)
    {
        _source = source;
        _rowByRow = rowByRow;
        _model = model;
        _featureColumn = source.Schema[featureColumnName].Index;
        // Blocks of dense rows are copied into one buffer; keep it near 32 MB however wide the rows are.
        _rowsPerBlock = Math.Max(1, Math.Min(rowsPerBlock, (8 << 20) / Math.Max(1, model.Network.InputCount)));
        _threshold = threshold;
        _thresholdOnProbability = thresholdColumn == AnnotationUtils.Const.ScoreValueKind.Probability;
        _multiclass = model is FffMulticlassModelParameters;
        if (thresholdColumn is null or AnnotationUtils.Const.ScoreValueKind.Score or AnnotationUtils.Const.ScoreValueKind.Probability)
            _outputs = ReadOutputs();
    }

    public bool CanShuffle => _rowByRow.CanShuffle;

    public DataViewSchema Schema => _rowByRow.Schema;

    public long? GetRowCount() => _rowByRow.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        DataViewSchema.Column[] needed = columnsNeeded.ToArray();
        return Groups(needed, rand) ? new Cursor(this, needed) : _rowByRow.GetRowCursor(needed, rand);
    }

    /// <summary>One cursor when grouping: each block is already spread over the cores by the batch kernels.</summary>
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
    {
        DataViewSchema.Column[] needed = columnsNeeded.ToArray();
        return Groups(needed, rand) ? new DataViewRowCursor[] { new Cursor(this, needed) } : _rowByRow.GetRowCursorSet(needed, n, rand);
    }

    private bool Groups(DataViewSchema.Column[] needed, Random? rand)
        => _outputs != null && rand == null && needed.Any(c => c.Index >= _source.Schema.Count);

    /// <summary>
    /// Maps ML.NET's added columns to what they hold, by their score-value-kind annotation; null when the scorer's schema
    /// is not the source's columns followed by columns this view knows how to fill.
    /// </summary>
    private Output[]? ReadOutputs()
    {
        DataViewSchema input = _source.Schema, output = _rowByRow.Schema;
        if (output.Count <= input.Count)
            return null;
        for (int i = 0; i < input.Count; i++)
        {
            if (output[i].Name != input[i].Name || !output[i].Type.Equals(input[i].Type))
                return null;
        }
        var outputs = new Output[output.Count - input.Count];
        int modelOutputs = _model.Network.OutputCount;
        for (int i = 0; i < outputs.Length; i++)
        {
            DataViewSchema.Column column = output[input.Count + i];
            if (column.Annotations.Schema.GetColumnOrNull(AnnotationUtils.Kinds.ScoreValueKind) is not { } kindColumn
                || kindColumn.Type is not TextDataViewType)
            {
                return null;
            }
            ReadOnlyMemory<char> kind = default;
            column.Annotations.GetValue(AnnotationUtils.Kinds.ScoreValueKind, ref kind);
            DataViewType type = column.Type;
            switch (kind.ToString())
            {
                case AnnotationUtils.Const.ScoreValueKind.Score when _multiclass ? type is VectorDataViewType v && v.Size == modelOutputs : type == NumberDataViewType.Single:
                    outputs[i] = Output.Score;
                    break;
                case AnnotationUtils.Const.ScoreValueKind.Probability when !_multiclass && modelOutputs == 1 && type == NumberDataViewType.Single && _model is FffBinaryModelParameters:
                    outputs[i] = Output.Probability;
                    break;
                case AnnotationUtils.Const.ScoreValueKind.PredictedLabel when _multiclass
                    ? type is KeyDataViewType key && key.Count == (ulong)modelOutputs
                    : type is BooleanDataViewType && _model is FffBinaryModelParameters:
                    outputs[i] = Output.PredictedLabel;
                    break;
                default:
                    return null;
            }
        }
        return outputs;
    }

    /// <summary>
    /// Reads ahead a block of rows, scores it in one call, and serves it while the main cursor walks the same rows.
    /// </summary>
    private sealed class Cursor : DataViewRowCursor
    {
        private readonly BatchScoredDataView _parent;
        private readonly DataViewRowCursor _rows;
        private readonly DataViewRowCursor _ahead;
        private readonly ValueGetter<VBuffer<float>> _features;
        private readonly ValueGetter<DataViewRowId> _rowId;
        private readonly ValueGetter<DataViewRowId> _aheadId;
        private readonly bool[] _active;
        private readonly int _inputCount;
        private readonly int _featureCount;
        private readonly int _outputCount;

        // One block: the dense rows' features packed, their scores, and every row's scores and id.
        private float[]? _dense;   // allocated at the first dense row: sparse inputs (text) never need it
        private readonly float[] _denseScores;
        private readonly int[] _denseRows;
        private readonly float[] _scores;
        private readonly DataViewRowId[] _ids;
        private VBuffer<float> _row;
        private VBuffer<float> _classScores;
        private int _count;
        private int _index;
        private long _position = -1;
        private bool _disposed;

        public Cursor(BatchScoredDataView parent, DataViewSchema.Column[] needed)
        {
            _parent = parent;
            DataViewSchema input = parent._source.Schema;
            _inputCount = input.Count;
            _active = new bool[parent._rowByRow.Schema.Count];
            foreach (DataViewSchema.Column column in needed)
                _active[column.Index] = true;
            _rows = parent._source.GetRowCursor(needed.Where(c => c.Index < _inputCount).Select(c => input[c.Index]));
            _ahead = parent._source.GetRowCursor(new[] { input[parent._featureColumn] });
            _features = _ahead.GetGetter<VBuffer<float>>(input[parent._featureColumn]);
            _rowId = _rows.GetIdGetter();
            _aheadId = _ahead.GetIdGetter();
            _featureCount = parent._model.Network.InputCount;
            _outputCount = parent._model.Network.OutputCount;
            int block = parent._rowsPerBlock;
            _denseScores = new float[block * _outputCount];
            _denseRows = new int[block];
            _scores = new float[block * _outputCount];
            _ids = new DataViewRowId[block];
        }

        public override DataViewSchema Schema => _parent.Schema;

        public override long Position => _position;

        public override long Batch => _rows.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _rowId;

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override bool MoveNext()
        {
            if (_disposed || !_rows.MoveNext())
                return false;
            if (++_index >= _count)
            {
                FillBlock();
                _index = 0;
            }
            DataViewRowId id = default;
            _rowId(ref id);
            if (_index >= _count || !id.Equals(_ids[_index]))
            {
                throw new InvalidOperationException(
                    "Batch scoring read the input twice and got the rows in a different order or number: the input data view is not "
                    + "repeatable. Score it with the wrapped model's own Transform (FffBatchScoringTransformer.Model), which reads it once.");
            }
            _position++;
            return true;
        }

        /// <summary>Reads the next block: sparse rows are scored one by one (their sparse kernels), dense rows together.</summary>
        private void FillBlock()
        {
            IFffScoringModel model = _parent._model;
            int outputs = _outputCount, features = _featureCount, dense = 0;
            _count = 0;
            while (_count < _ids.Length && _ahead.MoveNext())
            {
                _aheadId(ref _ids[_count]);
                _features(ref _row);
                if (_row.IsDense && _row.Length == features)
                {
                    _dense ??= new float[_ids.Length * features];
                    _row.GetValues().CopyTo(_dense.AsSpan(dense * features, features));
                    _denseRows[dense++] = _count;
                }
                else
                {
                    model.ScoreRow(_row, _scores.AsSpan(_count * outputs, outputs));   // also the length check and its message
                }
                _count++;
            }
            if (dense == 0)
                return;
            Span<float> scores = _denseScores.AsSpan(0, dense * outputs);
            model.ScoreBatch(_dense!.AsSpan(0, dense * features), scores);
            for (int i = 0; i < dense; i++)
                scores.Slice(i * outputs, outputs).CopyTo(_scores.AsSpan(_denseRows[i] * outputs, outputs));
        }

        private ReadOnlySpan<float> Current => _scores.AsSpan(_index * _outputCount, _outputCount);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!_active[column.Index])
                throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was created.");
            if (column.Index < _inputCount)
                return _rows.GetGetter<TValue>(_parent._source.Schema[column.Index]);
            Delegate getter = _parent._outputs![column.Index - _inputCount] switch
            {
                Output.Score when _parent._multiclass => (ValueGetter<VBuffer<float>>)GetScores,
                Output.Score => (ValueGetter<float>)((ref float value) => value = Current[0]),
                Output.Probability => (ValueGetter<float>)((ref float value) => value = Kernels.Sigmoid(Current[0])),
                Output.PredictedLabel when _parent._multiclass => (ValueGetter<uint>)GetClass,
                _ => (ValueGetter<bool>)GetLabel,
            };
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' has type {column.Type}, not {typeof(TValue).Name}.");
        }

        private void GetScores(ref VBuffer<float> value)
        {
            var editor = VBufferEditor.Create(ref value, _outputCount);
            Current.CopyTo(editor.Values);
            value = editor.Commit();
        }

        // As ML.NET's multiclass scorer: the key of the largest score, 0 when there is none (NaN scores).
        private void GetClass(ref uint value)
        {
            GetScores(ref _classScores);
            int index = VectorUtils.ArgMax(in _classScores);
            value = index < 0 ? 0 : (uint)index + 1;
        }

        // As ML.NET's binary scorer: score (or probability) strictly above the threshold.
        private void GetLabel(ref bool value)
        {
            float score = Current[0];
            value = (_parent._thresholdOnProbability ? Kernels.Sigmoid(score) : score) > _parent._threshold;
        }

        protected override void Dispose(bool disposing)
        {
            if (_disposed)
                return;
            if (disposing)
            {
                _rows.Dispose();
                _ahead.Dispose();
            }
            _disposed = true;
            base.Dispose(disposing);
        }
    }
}
