using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.Training;
using Microsoft.ML.Model.OnnxConverter;
using Microsoft.ML.Runtime;
using Microsoft.ML.Transforms;

[assembly: LoadableClass(TabularFeaturizerTransformer.Summary, typeof(TabularFeaturizerTransformer), null, typeof(SignatureLoadModel),
    TabularFeaturizerTransformer.UserName, TabularFeaturizerTransformer.LoaderSignature)]

namespace Microsoft.ML.Fff;

/// <summary>How one input column of <see cref="TabularFeaturizerEstimator"/> becomes slots of the feature vector.</summary>
internal enum TabularPartKind : byte
{
    /// <summary>
    /// A numeric or Boolean scalar or known-size vector: converted to Single, a missing value (NaN) replaced by the training mean of its
    /// slot, then <c>(x - offset) * scale</c> of <c>NormalizeMeanVariance</c>. All numeric parts share one statistics block, as the
    /// one vector ML.NET's <c>Concatenate</c>, <c>ReplaceMissingValues</c> and <c>NormalizeMeanVariance</c> compute them on.
    /// </summary>
    Numeric = 1,

    /// <summary>A String scalar: one indicator slot per value seen in training (ordinal, as <c>MapValueToKey</c> keys it), none for others.</summary>
    Categorical = 2,

    /// <summary>A Single scalar or known-size vector made by an earlier step (e.g. a one-hot of a key), copied as it is.</summary>
    Copied = 3,
}

/// <summary>
/// The featurization of <see cref="FffCatalog.Train"/> for numeric and categorical columns, as one step: what the chain
/// <c>ConvertType</c>, <c>Concatenate</c>, <c>ReplaceMissingValues</c> (mean), <c>NormalizeMeanVariance</c>, <c>OneHotEncoding</c> and
/// a final <c>Concatenate</c> computes, in one row mapper. <see cref="Fit"/> fits exactly that chain of ML.NET estimators (so the
/// statistics are ML.NET's own, to the bit) and reads its parameters out of it.
/// </summary>
/// <remarks>
/// Why: a <c>PredictionEngine</c> pays for every step of a pipeline on every row (a getter chain, a vector copy, a sparse/dense
/// decision per step); on a table of ten columns those steps cost more than the network they feed (docs/tabular.md, "Per-row
/// latency of Train models").
/// </remarks>
internal sealed class TabularFeaturizerEstimator : IEstimator<TabularFeaturizerTransformer>
{
    private readonly IHost _host;
    private readonly string _outputColumnName;
    private readonly (TabularPartKind Kind, string Column)[] _parts;
    // The equivalent ML.NET chain's steps in order, and which of them imputes the numeric block's means and which one-hot encodes the
    // categorical columns (-1: none), for FitEquivalent.
    private readonly List<IEstimator<ITransformer>> _steps = new();
    private readonly int _meanStep = -1;
    private readonly int _oneHotStep = -1;
    private readonly string? _numericVector;
    private readonly Dictionary<string, string> _oneHotColumns = new(StringComparer.Ordinal);
    private readonly bool _denseRows;
    private readonly bool _imageRows;
    // Train's own log (source "FffAutoTrain", as the planner's choices), for the dense-rows rule.
    private readonly IChannelProvider _trainLog;

    /// <summary>
    /// Most slots for which a step made with <c>denseRows</c> writes every row dense: on a vector this narrow the network's dense path
    /// costs less per row than its sparse one (docs/tabular.md, "The featurization step's own cost").
    /// </summary>
    internal const int DenseRowsMaxSlots = 256;

    /// <summary>
    /// Most slots for which such a step writes every row dense when a row stores at least one slot in 16 (a numeric slot each, one per
    /// categorical column): the fraction from which the scorer scores a sparse row through the dense kernels anyway
    /// (<c>FffModelParametersBase.ScoreRow</c>), so the sparse vector would only be written to be scattered again (ames: 311 slots,
    /// 73 stored, 3.4 to 2.3 µs per row).
    /// </summary>
    internal const int FilledRowsMaxSlots = 1024;

    /// <param name="mlContext">The context whose catalog makes the equivalent ML.NET chain.</param>
    /// <param name="outputColumnName">The feature vector column to write.</param>
    /// <param name="parts">The input columns in slot order, each with how it is featurized; the numeric ones consecutive.</param>
    /// <param name="inputSchema">The shape of the data to fit (which numeric columns need a conversion to Single).</param>
    /// <param name="denseRows">
    /// Whether the fitted step writes every row dense when the vector has at most <see cref="DenseRowsMaxSlots"/> slots (same values),
    /// instead of in the representation of the ML.NET chain (the FFF trainers scale both alike: measured slots standardized, 0/1
    /// indicator slots kept).
    /// </param>
    /// <param name="imageRows">
    /// Whether the numeric parts are an image's pixels (and there are no other parts): missing values are replaced by the mean but
    /// nothing is normalized (the trainer standardizes each pixel itself, after shift augmentation has moved the raw image: a pixel
    /// scaled for one position would be wrong at the next), and every row is written dense whatever its width (the images are
    /// shifted and scored dense).
    /// </param>
    public TabularFeaturizerEstimator(MLContext mlContext, string outputColumnName, IReadOnlyList<(TabularPartKind Kind, string Column)> parts, SchemaShape inputSchema,
        bool denseRows = false, bool imageRows = false)
    {
        Contracts.CheckValue(mlContext, nameof(mlContext));
        // A fixed seed: registering with none would draw from the context's random numbers, and change the seed the trainer after
        // this step draws (Train's models would then differ from those of the ML.NET chain for no reason but the draw).
        _host = ((IHostEnvironment)mlContext).Register(nameof(TabularFeaturizerEstimator), seed: 0);
        _host.CheckNonEmpty(outputColumnName, nameof(outputColumnName));
        _host.CheckValue(parts, nameof(parts));
        _host.CheckValue(inputSchema, nameof(inputSchema));
        _host.CheckParam(parts.Count > 0, nameof(parts), "At least one input column is needed.");
        _outputColumnName = outputColumnName;
        _parts = parts.ToArray();
        _denseRows = denseRows;
        _imageRows = imageRows;
        _host.CheckParam(!imageRows || _parts.All(p => p.Kind == TabularPartKind.Numeric), nameof(imageRows), "Image rows hold only numeric parts (the pixels).");
        _trainLog = mlContext;
        int firstNumeric = Array.FindIndex(_parts, p => p.Kind == TabularPartKind.Numeric);
        int lastNumeric = Array.FindLastIndex(_parts, p => p.Kind == TabularPartKind.Numeric);
        _host.CheckParam(firstNumeric < 0 || _parts.Skip(firstNumeric).Take(lastNumeric - firstNumeric + 1).All(p => p.Kind == TabularPartKind.Numeric),
            nameof(parts), "The numeric columns must be consecutive: they are normalized as one block.");
        GetOutputSchema(inputSchema); // Checks every part's column.

        // The ML.NET chain this step replaces, made here (not in Fit) and in the order Train made it before, so that the context's
        // random draws up to the trainer stay the same: its statistics are the step's, and it is kept for ONNX.
        var names = new HashSet<string>(inputSchema.Select(c => c.Name), StringComparer.Ordinal) { _outputColumnName };
        string Temporary(string purpose)
        {
            string name = "__FffTabular" + purpose + "__";
            for (int i = 1; !names.Add(name); i++)
                name = "__FffTabular" + purpose + i + "__";
            return name;
        }
        TransformsCatalog transforms = mlContext.Transforms;
        var concatenated = new List<string>();
        string[] numericColumns = _parts.Where(p => p.Kind == TabularPartKind.Numeric).Select(p => p.Column).ToArray();
        if (numericColumns.Length > 0)
        {
            var converted = new List<string>();
            var conversions = new List<InputOutputColumnPair>();
            foreach (string column in numericColumns)
            {
                inputSchema.TryFindColumn(column, out SchemaShape.Column shape);
                if (shape.ItemType == NumberDataViewType.Single)
                {
                    converted.Add(column);
                    continue;
                }
                string name = Temporary("Numeric");
                conversions.Add(new InputOutputColumnPair(name, column));
                converted.Add(name);
            }
            if (conversions.Count > 0)
                _steps.Add(transforms.Conversion.ConvertType(conversions.ToArray(), DataKind.Single));
            _numericVector = Temporary("Numerics");
            _steps.Add(transforms.Concatenate(_numericVector, converted.ToArray()));
            _meanStep = _steps.Count;
            _steps.Add(transforms.ReplaceMissingValues(_numericVector, _numericVector, MissingValueReplacingEstimator.ReplacementMode.Mean));
            if (!imageRows)
                _steps.Add(transforms.NormalizeMeanVariance(_numericVector, _numericVector));
        }
        var oneHot = new List<InputOutputColumnPair>();
        foreach ((TabularPartKind kind, string column) in _parts)
        {
            if (kind == TabularPartKind.Numeric)
            {
                if (column == numericColumns[0])
                    concatenated.Add(_numericVector!);
            }
            else if (kind == TabularPartKind.Categorical)
            {
                string name = Temporary("Category");
                _oneHotColumns.Add(column, name);
                oneHot.Add(new InputOutputColumnPair(name, column));
                concatenated.Add(name);
            }
            else
            {
                concatenated.Add(column);
            }
        }
        if (oneHot.Count > 0)
        {
            _oneHotStep = _steps.Count;
            _steps.Add(transforms.Categorical.OneHotEncoding(oneHot.ToArray()));
        }
        _steps.Add(transforms.Concatenate(_outputColumnName, concatenated.ToArray()));
    }

    /// <summary>The input columns, in slot order, with how each is featurized.</summary>
    public IReadOnlyList<(TabularPartKind Kind, string Column)> Parts => _parts;

    /// <summary>
    /// Fits the equivalent chain step by step, as <see cref="EstimatorChain{TLastTransformer}.Fit"/> does, except for the mean
    /// imputation, the chain's slowest pass (on fertility's 183,245 training rows 1.9 of the chain's 2.4 s when it was the first to
    /// read the data, 0.4 s when it was the second), and the one-hot step's dictionary. The means come from one pass here
    /// (<see cref="SlotMeans"/>, the same arithmetic) and the imputation is fitted on a one-row view holding them: the mean of a
    /// single value is that value, so the fitted step, its warnings included, is the one the full pass gives (docs/tabular.md,
    /// "Mean imputation fitted from a pass of our own"). The same pass gathers each categorical column's distinct values in the
    /// order they first appear, and the one-hot step is fitted on a view of those alone: its dictionary keeps values in order of
    /// first appearance and ignores repeats, so it is the one the full pass builds (docs/tabular.md, "The one-hot dictionary from
    /// the means pass").
    /// </summary>
    private TransformerChain<ITransformer> FitEquivalent(IDataView input)
    {
        var fitted = new ITransformer[_steps.Count];
        IDataView data = input;
        IDataView? distinctCategories = null;
        for (int i = 0; i < fitted.Length; i++)
        {
            IDataView fitOn = data;
            if (i == _meanStep)
                (fitOn, distinctCategories) = FirstPass(data);
            else if (i == _oneHotStep && distinctCategories != null)
                fitOn = distinctCategories;
            fitted[i] = _steps[i].Fit(fitOn);
            data = fitted[i].Transform(data);
        }
        return new TransformerChain<ITransformer>(fitted);
    }

    /// <summary>
    /// One pass over <paramref name="data"/>: a one-row view whose numeric block holds each slot's mean (NaN where no value is
    /// finite), and, when the step has categorical parts and <paramref name="data"/> has rows, a view of each categorical column's
    /// distinct values in order of first appearance (a shorter column repeats its first value; null otherwise).
    /// </summary>
    private (IDataView Means, IDataView? DistinctCategories) FirstPass(IDataView data)
    {
        DataViewSchema.Column column = data.Schema[_numericVector!];
        int width = ((VectorDataViewType)column.Type).Size;
        var means = new SlotMeans(width);
        DataViewSchema.Column[] categoryColumns = _oneHotColumns.Keys.Select(name => data.Schema[name]).ToArray();
        var distinct = categoryColumns.Select(_ => new FirstAppearances()).ToArray();
        bool anyRow = false;
        using (DataViewRowCursor cursor = data.GetRowCursor(categoryColumns.Prepend(column)))
        {
            ValueGetter<VBuffer<float>> getter = cursor.GetGetter<VBuffer<float>>(column);
            ValueGetter<ReadOnlyMemory<char>>[] texts = categoryColumns.Select(c => cursor.GetGetter<ReadOnlyMemory<char>>(c)).ToArray();
            VBuffer<float> row = default;
            ReadOnlyMemory<char> text = default;
            while (cursor.MoveNext())
            {
                anyRow = true;
                getter(ref row);
                means.Add(row);
                for (int c = 0; c < texts.Length; c++)
                {
                    texts[c](ref text);
                    distinct[c].Add(text.Span);
                }
            }
        }
        var definition = SchemaDefinition.Create(typeof(MeanRow));
        SchemaDefinition.Column meansColumn = definition[nameof(MeanRow.Means)];
        meansColumn.ColumnName = _numericVector!;
        meansColumn.ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        // A context of its own: loading draws nothing from the caller's, but no context's state should depend on this view.
        IDataView meansView = new MLContext(seed: 0).Data.LoadFromEnumerable(new[] { new MeanRow { Means = means.Result() } }, definition);
        if (categoryColumns.Length == 0 || !anyRow)
            return (meansView, null);
        var builder = new ArrayDataViewBuilder(_host);
        int rows = distinct.Max(d => d.Values.Count);
        for (int c = 0; c < categoryColumns.Length; c++)
        {
            List<string> values = distinct[c].Values;
            builder.AddColumn(categoryColumns[c].Name, Enumerable.Range(0, rows).Select(r => r < values.Count ? values[r] : values[0]).ToArray());
        }
        return (meansView, builder.GetDataView());
    }

    /// <summary>A column's distinct values in order of first appearance; a value seen before costs a lookup, not a string.</summary>
    private sealed class FirstAppearances
    {
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);
        private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

        public FirstAppearances() => _lookup = _seen.GetAlternateLookup<ReadOnlySpan<char>>();

        public List<string> Values { get; } = new();

        public void Add(ReadOnlySpan<char> value)
        {
            if (_lookup.Contains(value))
                return;
            string added = value.ToString();
            _seen.Add(added);
            Values.Add(added);
        }
    }

    /// <summary>The one row of the means view of <see cref="FirstPass"/>.</summary>
    private sealed class MeanRow
    {
        public float[] Means = Array.Empty<float>();
    }

    /// <summary>Fits the equivalent ML.NET chain on <paramref name="input"/> and returns the one-step transformer holding its parameters.</summary>
    public TabularFeaturizerTransformer Fit(IDataView input)
    {
        _host.CheckValue(input, nameof(input));
        foreach ((TabularPartKind kind, string column) in _parts)
            TabularFeaturizerTransformer.CheckInput(input.Schema, kind, column);
        TransformerChain<ITransformer> fitted = FitEquivalent(input);

        // Read the parameters back out of the fitted chain.
        float[] replacement = Array.Empty<float>(), offset = Array.Empty<float>(), scale = Array.Empty<float>();
        if (_numericVector != null)
        {
            ITransformer[] steps = fitted.ToArray();
            MissingValueReplacingTransformer replacer = steps.OfType<MissingValueReplacingTransformer>().Single();
            if (steps.OfType<NormalizingTransformer>().SingleOrDefault() is NormalizingTransformer normalizer)
            {
                var affine = (NormalizingTransformer.AffineNormalizerModelParameters<ImmutableArray<float>>)normalizer.GetNormalizerModelParameters(0);
                int width = affine.Scale.Length;
                scale = affine.Scale.ToArray();
                offset = affine.Offset.IsDefaultOrEmpty ? new float[width] : affine.Offset.ToArray();
            }
            else
            {
                // Image pixels: (x - 0) * 1, the identity, so the saved step keeps its format.
                int width = ((VectorDataViewType)fitted.GetOutputSchema(input.Schema)[_numericVector].Type).Size;
                scale = Enumerable.Repeat(1f, width).ToArray();
                offset = new float[width];
            }
            replacement = ReplacementValues(replacer, _numericVector, scale.Length);
        }
        // A one-hot vector's slot names are its key values: the categories in slot order.
        DataViewSchema output = fitted.GetOutputSchema(input.Schema);
        var terms = _oneHotColumns.ToDictionary(pair => pair.Key, pair => SlotNames(output[pair.Value]), StringComparer.Ordinal);
        var rows = TabularRows.AsMlNet;
        if (_imageRows)
        {
            // Dense at any width, scaled by the trainer as dense rows (zero mean, unit variance per pixel).
            rows = TabularRows.Dense;
        }
        else if (_denseRows && DenseEnough(((VectorDataViewType)output[_outputColumnName].Type).Size, terms.Values.Sum(t => t.Length), terms.Count))
        {
            rows = TabularRows.Dense;
            using IChannel ch = _trainLog.Start("FffAutoTrain");
            ch.Info(MessageSensitivity.None, "The {0}-slot feature vector is written dense on every row (at most {1} slots, or at most {2} of which a row " +
                "stores one in 16: the network's dense path costs less per row than its sparse one); the trainer standardizes its measured slots and " +
                "keeps its 0/1 indicator slots as they are.",
                ((VectorDataViewType)output[_outputColumnName].Type).Size, DenseRowsMaxSlots, FilledRowsMaxSlots);
        }
        return new TabularFeaturizerTransformer(_host, _outputColumnName, _parts, input.Schema, replacement, offset, scale, terms, fitted, rows);
    }

    /// <summary>
    /// Whether rows of <paramref name="slots"/> slots are written dense: at most <see cref="DenseRowsMaxSlots"/>, or at most
    /// <see cref="FilledRowsMaxSlots"/> when a row stores one slot in 16 (every slot outside the one-hot blocks, one per block).
    /// </summary>
    internal static bool DenseEnough(int slots, int oneHotSlots, int oneHotBlocks)
        => slots <= DenseRowsMaxSlots || (slots <= FilledRowsMaxSlots && 16L * (slots - oneHotSlots + oneHotBlocks) >= slots);

    /// <summary>The slot values <c>ReplaceMissingValues</c> puts in for NaN: what it writes for a row of NaN.</summary>
    private float[] ReplacementValues(ITransformer replacer, string column, int width)
    {
        var builder = new ArrayDataViewBuilder(_host);
        float[] missing = Enumerable.Repeat(float.NaN, width).ToArray();
        builder.AddColumn(column, NumberDataViewType.Single, new[] { missing });
        IDataView replaced = replacer.Transform(builder.GetDataView());
        using DataViewRowCursor cursor = replaced.GetRowCursor(replaced.Schema[column]);
        ValueGetter<VBuffer<float>> getter = cursor.GetGetter<VBuffer<float>>(replaced.Schema[column]);
        VBuffer<float> values = default;
        _host.Check(cursor.MoveNext(), "The missing-value step returned no row.");
        getter(ref values);
        return values.DenseValues().ToArray();
    }

    private static string[] SlotNames(DataViewSchema.Column column)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        column.GetSlotNames(ref names);
        return names.DenseValues().Select(v => v.ToString()).ToArray();
    }

    /// <summary>The input schema plus the feature vector (a known-size Single vector); throws, naming the column, on a missing or wrongly typed input.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        _host.CheckValue(inputSchema, nameof(inputSchema));
        foreach ((TabularPartKind kind, string column) in _parts)
        {
            if (!inputSchema.TryFindColumn(column, out SchemaShape.Column shape))
                throw _host.ExceptSchemaMismatch(nameof(inputSchema), "input", column);
            bool ok = kind switch
            {
                TabularPartKind.Numeric => shape.Kind != SchemaShape.Column.VectorKind.VariableVector && !shape.IsKey
                    && (shape.ItemType is NumberDataViewType || shape.ItemType is BooleanDataViewType),
                TabularPartKind.Categorical => shape.Kind == SchemaShape.Column.VectorKind.Scalar && shape.ItemType is TextDataViewType,
                _ => shape.Kind != SchemaShape.Column.VectorKind.VariableVector && !shape.IsKey && shape.ItemType == NumberDataViewType.Single,
            };
            if (!ok)
                throw _host.ExceptSchemaMismatch(nameof(inputSchema), "input", column, TabularFeaturizerTransformer.Expected(kind), shape.GetTypeString());
        }
        var result = inputSchema.ToDictionary(c => c.Name);
        result[_outputColumnName] = new SchemaShape.Column(_outputColumnName, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false);
        return new SchemaShape(result.Values);
    }
}

/// <summary>How a fitted <see cref="TabularFeaturizerTransformer"/> writes its rows (a flags byte in the model file from format 0x00010002).</summary>
[Flags]
internal enum TabularRows : byte
{
    /// <summary>In the representation of the ML.NET chain the step replaces (the only form of format 0x00010001).</summary>
    AsMlNet = 0,

    /// <summary>Every row dense (the same values).</summary>
    Dense = 1,

    /// <summary>
    /// Written with <see cref="Dense"/> until 2026-12-07 when the chain's first row was sparse: it put an annotation on the vector
    /// that made the FFF trainers scale it as sparse rows. Still read (a valid file) and ignored: the trainers now scale narrow
    /// dense and sparse rows alike.
    /// </summary>
    SparseScalingBefore20261207 = 2,
}

/// <summary>
/// The fitted <see cref="TabularFeaturizerEstimator"/>: writes one Single vector per row from numeric, categorical and copied
/// columns, equal to what the ML.NET chain it replaces computes: the same values (a negative zero comes out as +0, as that chain's
/// buffers store it) in the same representation (sparse when the parts store at most half the slots, as <c>Concatenate</c> decides),
/// or, when fitted with dense rows (<see cref="TabularRows"/>, as <c>Train</c> fits it for narrow vectors), dense on every row. Saves with <c>mlContext.Model.Save</c>, loads on a fresh <c>MLContext</c>, exports to ONNX as that chain.
/// </summary>
internal sealed class TabularFeaturizerTransformer : RowToRowTransformerBase
{
    internal const string Summary = "Featurizes numeric and categorical columns of a table into one vector in one step.";
    internal const string UserName = "FFF tabular featurizer";
    internal const string LoaderSignature = "FffTabularFeaturizer";

    // Most categorical values and slots a stored transformer may declare (ValueToKey's own limit is 1,000,000 keys per column).
    private const int MaxSlots = 1 << 24;

    private readonly (TabularPartKind Kind, string Column)[] _parts;
    private readonly int[] _widths;
    private readonly int[] _offsets;
    private readonly float[] _replacement;
    private readonly float[] _shift;
    private readonly float[] _scale;
    private readonly CategorySlots?[] _slots;
    private readonly string[][] _terms;
    private readonly ITransformer _equivalent;
    private readonly TabularRows _rows;

    internal TabularFeaturizerTransformer(IHost host, string outputColumnName, (TabularPartKind Kind, string Column)[] parts, DataViewSchema inputSchema,
        float[] replacement, float[] shift, float[] scale, Dictionary<string, string[]> terms, ITransformer equivalent, TabularRows rows = TabularRows.AsMlNet)
        : base(host)
    {
        OutputColumnName = outputColumnName;
        _rows = rows;
        _parts = parts;
        _widths = parts.Select(p => p.Kind == TabularPartKind.Categorical ? terms[p.Column].Length : SlotsOf(inputSchema[p.Column].Type)).ToArray();
        _terms = parts.Select(p => p.Kind == TabularPartKind.Categorical ? terms[p.Column] : Array.Empty<string>()).ToArray();
        (_replacement, _shift, _scale) = (replacement, shift, scale);
        _equivalent = equivalent;
        _offsets = Offsets(_widths);
        _slots = _terms.Select((t, i) => parts[i].Kind == TabularPartKind.Categorical ? new CategorySlots(t) : null).ToArray();
        Host.Check(NumericWidth == _scale.Length && _shift.Length == _scale.Length && _replacement.Length == _scale.Length,
            "The numeric statistics do not match the numeric columns' slots.");
    }

    private TabularFeaturizerTransformer(IHost host, ModelLoadContext ctx)
        : base(host)
    {
        // *** Binary format ***
        // string id  output column name
        // int32      part count P (1 .. 2^24)
        // P times:   byte kind (1 numeric, 2 categorical, 3 copied); string id input column name; int32 slot count S (1 .. 2^24);
        //            categorical only: S string ids, the values in slot order (distinct, non-empty)
        // float[N]   replacement values, float[N] offsets, float[N] scales of the numeric slots (N = their total slot count), in part order
        // byte       from 0x00010002 only: TabularRows flags (1 dense rows, 2 scale as sparse; 2 only with 1)
        // sub-model "Equivalent": the fitted ML.NET chain the step replaces (for ONNX export)
        // Version history: 0x00010001 initial; 0x00010002 the rows flags (written only when a flag is set, so other files stay 0x00010001).
        OutputColumnName = ReadName(ctx);
        int count = ReadCount(ctx.Reader, "part count");
        _parts = new (TabularPartKind, string)[count];
        _widths = new int[count];
        _terms = new string[count][];
        long total = 0;
        for (int i = 0; i < count; i++)
        {
            byte kind = Read(ctx.Reader, r => r.ReadByte());
            if (kind is < (byte)TabularPartKind.Numeric or > (byte)TabularPartKind.Copied)
                throw Corrupt($"part {i} has unknown kind {kind}.");
            _parts[i] = ((TabularPartKind)kind, ReadName(ctx));
            _widths[i] = ReadCount(ctx.Reader, $"slot count of part {i}");
            total += _widths[i];
            if (total > MaxSlots)
                throw Corrupt($"the parts declare more than {MaxSlots} slots.");
            _terms[i] = Array.Empty<string>();
            if (_parts[i].Kind == TabularPartKind.Categorical)
            {
                _terms[i] = new string[_widths[i]];
                for (int t = 0; t < _terms[i].Length; t++)
                    _terms[i][t] = ReadName(ctx);
            }
        }
        int firstNumeric = Array.FindIndex(_parts, p => p.Kind == TabularPartKind.Numeric);
        int lastNumeric = Array.FindLastIndex(_parts, p => p.Kind == TabularPartKind.Numeric);
        for (int i = Math.Max(0, firstNumeric); i <= lastNumeric; i++)
        {
            if (_parts[i].Kind != TabularPartKind.Numeric)
                throw Corrupt($"part {i} lies between numeric parts, which must be consecutive.");
        }
        int numeric = NumericWidth;
        _replacement = ReadFloats(ctx.Reader, numeric);
        _shift = ReadFloats(ctx.Reader, numeric);
        _scale = ReadFloats(ctx.Reader, numeric);
        if (ctx.Header.ModelVerWritten >= DenseRowsVersion)
        {
            byte rows = Read(ctx.Reader, r => r.ReadByte());
            // Valid: the chain's representation, dense rows, and dense rows with the flag of files written before 2026-12-07.
            if ((TabularRows)rows is not (TabularRows.AsMlNet or TabularRows.Dense or (TabularRows.Dense | TabularRows.SparseScalingBefore20261207)))
                throw Corrupt($"the rows flags are {rows}, not 0, 1 or 3.");
            _rows = (TabularRows)rows;
        }
        _offsets = Offsets(_widths);
        _slots = new CategorySlots?[count];
        for (int i = 0; i < count; i++)
        {
            if (_parts[i].Kind != TabularPartKind.Categorical)
                continue;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int t = 0; t < _terms[i].Length; t++)
            {
                if (_terms[i][t].Length == 0 || !seen.Add(_terms[i][t]))
                    throw Corrupt($"value {t} of categorical column '{_parts[i].Column}' is empty or repeated.");
            }
            _slots[i] = new CategorySlots(_terms[i]);
        }
        ctx.LoadModel<ITransformer, SignatureLoadModel>(host, out _equivalent, "Equivalent");
    }

    /// <summary>The feature vector column.</summary>
    public string OutputColumnName { get; }

    /// <summary>Slots of the feature vector.</summary>
    public int SlotCount => _offsets[^1];

    private int NumericWidth => Enumerable.Range(0, _parts.Length).Where(i => _parts[i].Kind == TabularPartKind.Numeric).Sum(i => _widths[i]);

    /// <summary>The numeric slots: one contiguous block (numeric parts are consecutive), as the one vector the ML.NET chain normalizes.</summary>
    private (int Offset, int Width) NumericBlock
    {
        get
        {
            int first = Array.FindIndex(_parts, part => part.Kind == TabularPartKind.Numeric);
            return first < 0 ? (0, 0) : (_offsets[first], NumericWidth);
        }
    }

    private static int[] Offsets(int[] widths)
    {
        var offsets = new int[widths.Length + 1];
        for (int i = 0; i < widths.Length; i++)
            offsets[i + 1] = checked(offsets[i] + widths[i]);
        return offsets;
    }

    private static int SlotsOf(DataViewType type) => type is VectorDataViewType vector ? vector.Size : 1;

    internal static string Expected(TabularPartKind kind) => kind switch
    {
        TabularPartKind.Numeric => "a numeric or Boolean scalar or known-size vector",
        TabularPartKind.Categorical => "a String scalar",
        _ => "a Single scalar or known-size vector",
    };

    /// <summary>Throws (naming the column and what it needs) unless the schema has the column with a type its part accepts.</summary>
    internal static void CheckInput(DataViewSchema schema, TabularPartKind kind, string column)
    {
        DataViewType type = schema.GetColumnOrNull(column)?.Type
            ?? throw new ArgumentOutOfRangeException("inputSchema", $"Column '{column}' of the tabular featurizer is not in the data.");
        DataViewType item = type is VectorDataViewType vector ? vector.ItemType : type;
        bool knownSize = type is not VectorDataViewType { IsKnownSize: false };
        bool ok = kind switch
        {
            TabularPartKind.Numeric => knownSize && item is NumberDataViewType or BooleanDataViewType,
            TabularPartKind.Categorical => type is TextDataViewType,
            _ => knownSize && item == NumberDataViewType.Single,
        };
        if (!ok)
            throw new ArgumentOutOfRangeException("inputSchema", $"Column '{column}' is {type}, but the tabular featurizer needs {Expected(kind)} there.");
    }

    private const uint DenseRowsVersion = 0x00010002;

    /// <summary>The version this code reads; a file is written at 0x00010001 unless it has a rows flag (which older code cannot honour).</summary>
    private static VersionInfo GetVersionInfo(bool rowsFlags = true) => new VersionInfo(
        modelSignature: "FFFTABFT",
        verWrittenCur: rowsFlags ? DenseRowsVersion : 0x00010001, // 0x00010001 initial; 0x00010002 the rows flags
        verReadableCur: rowsFlags ? DenseRowsVersion : 0x00010001,
        verWeCanReadBack: 0x00010001,
        loaderSignature: LoaderSignature,
        loaderAssemblyName: typeof(TabularFeaturizerTransformer).Assembly.FullName);

    /// <summary>The loader ML.NET calls for <c>Model.Load</c>.</summary>
    internal static TabularFeaturizerTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        Contracts.CheckValue(env, nameof(env));
        IHost host = env.Register(nameof(TabularFeaturizerTransformer));
        host.CheckValue(ctx, nameof(ctx));
        ctx.CheckAtModel(GetVersionInfo());
        return new TabularFeaturizerTransformer(host, ctx);
    }

    protected override void SaveModel(ModelSaveContext ctx)
    {
        Host.CheckValue(ctx, nameof(ctx));
        ctx.CheckAtModel();
        ctx.SetVersionInfo(GetVersionInfo(rowsFlags: _rows != TabularRows.AsMlNet));
        ctx.SaveNonEmptyString(OutputColumnName);
        ctx.Writer.Write(_parts.Length);
        for (int i = 0; i < _parts.Length; i++)
        {
            ctx.Writer.Write((byte)_parts[i].Kind);
            ctx.SaveNonEmptyString(_parts[i].Column);
            ctx.Writer.Write(_widths[i]);
            foreach (string term in _terms[i])
                ctx.SaveNonEmptyString(term);
        }
        foreach (float[] values in new[] { _replacement, _shift, _scale })
        {
            foreach (float value in values)
                ctx.Writer.Write(value);
        }
        if (_rows != TabularRows.AsMlNet)
            ctx.Writer.Write((byte)_rows);
        ctx.SaveModel(_equivalent, "Equivalent");
    }

    protected override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

    private static InvalidDataException Corrupt(string problem)
        => Contracts.Mark(new InvalidDataException("Corrupt FFF tabular featurizer: " + problem));

    private static T Read<T>(BinaryReader reader, Func<BinaryReader, T> read)
    {
        try
        {
            return read(reader);
        }
        catch (EndOfStreamException e)
        {
            throw Contracts.Mark(new InvalidDataException("Corrupt FFF tabular featurizer: the file ends early (truncated?).", e));
        }
    }

    private static int ReadCount(BinaryReader reader, string what)
    {
        int count = Read(reader, r => r.ReadInt32());
        if (count < 1 || count > MaxSlots)
            throw Corrupt($"the {what} is {count}, outside 1 .. {MaxSlots}.");
        return count;
    }

    private static string ReadName(ModelLoadContext ctx)
    {
        string? name = Read(ctx.Reader, _ => ctx.LoadStringOrNull());
        return string.IsNullOrEmpty(name) ? throw Corrupt("a column name or categorical value is empty or missing.") : name;
    }

    private static float[] ReadFloats(BinaryReader reader, int count)
    {
        Stream stream = reader.BaseStream;
        if (stream.CanSeek && stream.Length - stream.Position < (long)count * sizeof(float))
            throw Corrupt($"the file ends before the {count} numeric statistics (truncated?).");
        var values = new float[count];
        for (int i = 0; i < count; i++)
            values[i] = Read(reader, r => r.ReadSingle());
        return values;
    }

    /// <summary>
    /// Writes the slots of one part from its input column into the row's vector (the span covers exactly the part's slots); returns
    /// how many entries the ML.NET step it replaces would store (a vector's stored values).
    /// </summary>
    private delegate int PartWriter(Span<float> slots);

    private sealed class Mapper : MapperBase, ISaveAsOnnx
    {
        private readonly TabularFeaturizerTransformer _featurizer;
        private readonly int[] _inputs;

        public Mapper(TabularFeaturizerTransformer parent, DataViewSchema inputSchema)
            : base(parent.Host.Register(nameof(Mapper)), inputSchema, parent)
        {
            _featurizer = parent;
            _inputs = new int[parent._parts.Length];
            for (int i = 0; i < _inputs.Length; i++)
            {
                (TabularPartKind kind, string column) = parent._parts[i];
                CheckInput(inputSchema, kind, column);
                DataViewSchema.Column input = inputSchema[column];
                if (kind != TabularPartKind.Categorical && SlotsOf(input.Type) != parent._widths[i])
                {
                    throw new ArgumentOutOfRangeException(nameof(inputSchema),
                        $"Column '{column}' has {SlotsOf(input.Type)} slots, but the tabular featurizer was fitted on {parent._widths[i]}.");
                }
                _inputs[i] = input.Index;
            }
        }

        protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore()
        {
            var type = new VectorDataViewType(NumberDataViewType.Single, _featurizer.SlotCount);
            return new[] { new DataViewSchema.DetachedColumn(_featurizer.OutputColumnName, type) };
        }

        protected override Func<int, bool> GetDependenciesCore(Func<int, bool> activeOutput)
            => activeOutput(0) ? column => Array.IndexOf(_inputs, column) >= 0 : _ => false;

        protected override void SaveModel(ModelSaveContext ctx) => _featurizer.SaveModel(ctx);

        protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action? disposer)
        {
            disposer = null;
            ValueGetter<VBuffer<float>> getter = new RowWriter(_featurizer, input, _inputs, Host).Write;
            return getter;
        }

        /// <summary>
        /// The getter of one output row: its state lives in fields (not captured locals) and each kind of part has a loop of its own,
        /// so a row costs the input reads, one vectorized pass over the numeric block and one lookup per category, without a delegate
        /// call per part. A sparse row is written part by part from what each part found, not by scanning every slot.
        /// </summary>
        private sealed class RowWriter
        {
            private readonly IExceptionContext _ectx;
            private readonly int _width;
            // The row's slots. A category's indicator is cleared when the next row is written, so the whole row is never cleared.
            private readonly float[] _values;
            // Single scalars (numeric or copied) read straight into their slot.
            private readonly ValueGetter<float>[] _singles;
            private readonly int[] _singleSlots;
            private readonly int _copiedScalars;
            // Every other numeric or copied part (conversions, vectors) through a writer of its own.
            private readonly PartWriter[] _writers;
            private readonly int[] _writerParts;
            // Categorical parts: the text getter, the lookup, the first slot, and the slot this row set (-1: none).
            private readonly ValueGetter<ReadOnlyMemory<char>>[] _texts;
            private readonly CategorySlots[] _categories;
            private readonly int[] _categoryOffsets;
            private readonly int[] _found;
            private ReadOnlyMemory<char> _text;
            // The numeric block and its statistics.
            private readonly int _numericOffset, _numericWidth;
            private readonly float[] _replacement, _shift, _scale;
            // The parts in slot order for the sparse form (the numeric parts as one block): kind, first slot, width, and for a
            // categorical part its index into the arrays above, for a copied part its index into the part arrays.
            private readonly (TabularPartKind Kind, int First, int Width, int Index)[] _segments;
            // Entries a copied part stores this row (all its slots when its input is dense).
            private readonly int[] _stored;
            private readonly TabularPartKind[] _kinds;
            private readonly int[] _offsets, _widths;
            private readonly bool _dense;

            public RowWriter(TabularFeaturizerTransformer p, DataViewRow input, int[] inputs, IExceptionContext ectx)
            {
                _ectx = ectx;
                _width = p.SlotCount;
                _values = new float[_width];
                var singles = new List<(ValueGetter<float> Getter, int Slot)>();
                var writers = new List<(PartWriter Write, int Part)>();
                var texts = new List<ValueGetter<ReadOnlyMemory<char>>>();
                var categories = new List<CategorySlots>();
                var categoryOffsets = new List<int>();
                var segments = new List<(TabularPartKind, int, int, int)>();
                (_numericOffset, _numericWidth) = p.NumericBlock;
                _stored = new int[p._parts.Length];
                for (int i = 0; i < p._parts.Length; i++)
                {
                    TabularPartKind kind = p._parts[i].Kind;
                    DataViewSchema.Column column = input.Schema[inputs[i]];
                    if (kind == TabularPartKind.Categorical)
                    {
                        segments.Add((kind, p._offsets[i], p._widths[i], texts.Count));
                        texts.Add(input.GetGetter<ReadOnlyMemory<char>>(column));
                        categories.Add(p._slots[i]!);
                        categoryOffsets.Add(p._offsets[i]);
                        continue;
                    }
                    if (kind == TabularPartKind.Copied)
                        segments.Add((kind, p._offsets[i], p._widths[i], i));
                    else if (p._offsets[i] == _numericOffset)
                        segments.Add((kind, _numericOffset, _numericWidth, i));
                    if (column.Type == NumberDataViewType.Single)
                    {
                        singles.Add((input.GetGetter<float>(column), p._offsets[i]));
                        if (kind == TabularPartKind.Copied)
                        {
                            _copiedScalars++;
                            _stored[i] = 1; // a copied scalar: one value, always stored
                        }
                    }
                    else
                    {
                        writers.Add((MakeWriter(input, column), i));
                    }
                }
                _singles = singles.Select(s => s.Getter).ToArray();
                _singleSlots = singles.Select(s => s.Slot).ToArray();
                _writers = writers.Select(w => w.Write).ToArray();
                _writerParts = writers.Select(w => w.Part).ToArray();
                _texts = texts.ToArray();
                _categories = categories.ToArray();
                _categoryOffsets = categoryOffsets.ToArray();
                _found = Enumerable.Repeat(-1, _texts.Length).ToArray();
                _segments = segments.ToArray();
                (_replacement, _shift, _scale) = (p._replacement, p._shift, p._scale);
                _kinds = p._parts.Select(part => part.Kind).ToArray();
                _offsets = p._offsets;
                _widths = p._widths;
                _dense = (p._rows & TabularRows.Dense) != 0;
            }

            public void Write(ref VBuffer<float> destination)
            {
                Span<float> values = _values;
                ValueGetter<float>[] singles = _singles;
                int[] singleSlots = _singleSlots;
                for (int i = 0; i < singles.Length; i++)
                    singles[i](ref values[singleSlots[i]]);
                // Entries the ML.NET steps this one replaces would store this row (the numeric parts are counted as one block).
                int storedCount = _copiedScalars;
                for (int w = 0; w < _writers.Length; w++)
                {
                    int part = _writerParts[w];
                    Span<float> slots = values.Slice(_offsets[part], _widths[part]);
                    int stored = _writers[w](slots);
                    if (_kinds[part] != TabularPartKind.Copied)
                        continue;
                    // A sparse copied vector counts its non-zero values (the entries written below), should it store explicit zeros.
                    _stored[part] = stored < _widths[part] ? _widths[part] - CountZeros(slots) : stored;
                    storedCount += _stored[part];
                }
                for (int c = 0; c < _texts.Length; c++)
                {
                    int previous = _found[c];
                    if (previous >= 0)
                        values[previous] = 0;
                    _texts[c](ref _text);
                    int slot = _categories[c].Find(_text.Span);
                    if (slot >= 0)
                    {
                        slot += _categoryOffsets[c];
                        values[slot] = 1;
                        storedCount++;
                    }
                    _found[c] = slot;
                }
                bool numericDense = false;
                if (_numericWidth > 0)
                {
                    Span<float> numeric = values.Slice(_numericOffset, _numericWidth);
                    Standardize(numeric, _replacement, _shift, _scale);
                    if (!_dense)
                    {
                        // The ML.NET normalizer's buffer keeps only non-zero values and turns dense at half the slots.
                        int nonZero = _numericWidth - CountZeros(numeric);
                        numericDense = nonZero >= 1 && nonZero >= _numericWidth / 2;
                        storedCount += numericDense ? _numericWidth : nonZero;
                    }
                }
                // ML.NET's Concatenate writes a sparse vector when its parts store at most half the slots; so does this step, so the
                // trainer (which keeps a column sparse when its first row is) and the network see the representation they saw before.
                if (_dense || storedCount > _width / 2)
                {
                    VBufferEditor<float> editor = VBufferEditor.Create(ref destination, _width);
                    values.CopyTo(editor.Values);
                    destination = editor.Commit();
                    return;
                }
                VBufferEditor<float> sparse = VBufferEditor.Create(ref destination, _width, storedCount);
                Span<float> entries = sparse.Values;
                Span<int> indices = sparse.Indices;
                int entry = 0;
                foreach ((TabularPartKind kind, int first, int width, int index) in _segments)
                {
                    if (kind == TabularPartKind.Categorical)
                    {
                        int slot = _found[index];
                        if (slot >= 0)
                        {
                            entries[entry] = 1;
                            indices[entry++] = slot;
                        }
                        continue;
                    }
                    // A dense part stores all its slots, zeros too; a sparse one only its non-zero values.
                    bool all = kind == TabularPartKind.Numeric ? numericDense : _stored[index] == width;
                    entry = WriteEntries(values.Slice(first, width), first, all, entries, indices, entry);
                }
                _ectx.Check(entry == storedCount, "The tabular featurizer's sparse row does not hold the entries it counted.");
                destination = sparse.Commit();
            }
        }

        private static int CountZeros(ReadOnlySpan<float> values)
        {
            int zeros = 0, i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                // Each equal lane is -1 (all bits set); their sum is minus the count. Wide rows (images) are counted per row.
                Vector<int> counts = Vector<int>.Zero;
                ReadOnlySpan<Vector<float>> blocks = MemoryMarshal.Cast<float, Vector<float>>(values);
                foreach (Vector<float> block in blocks)
                    counts += Vector.Equals(block, Vector<float>.Zero);
                zeros = -Vector.Sum(counts);
                i = blocks.Length * Vector<float>.Count;
            }
            for (; i < values.Length; i++)
                zeros += values[i] == 0 ? 1 : 0;
            return zeros;
        }

        /// <summary>
        /// Writes the non-zero values of <paramref name="values"/> (all of them when <paramref name="all"/>) with their slot plus
        /// <paramref name="first"/> from <paramref name="entry"/> on; returns the next entry. Blocks of zeros (an image's background)
        /// are skipped a vector at a time.
        /// </summary>
        private static int WriteEntries(ReadOnlySpan<float> values, int first, bool all, Span<float> entries, Span<int> indices, int entry)
        {
            if (all)
            {
                values.CopyTo(entries.Slice(entry));
                for (int i = 0; i < values.Length; i++)
                    indices[entry + i] = first + i;
                return entry + values.Length;
            }
            int slot = 0;
            if (Vector.IsHardwareAccelerated)
            {
                ReadOnlySpan<Vector<float>> blocks = MemoryMarshal.Cast<float, Vector<float>>(values);
                for (int b = 0; b < blocks.Length; b++)
                {
                    if (Vector.EqualsAll(blocks[b], Vector<float>.Zero))
                        continue;
                    for (int i = b * Vector<float>.Count, end = i + Vector<float>.Count; i < end; i++)
                    {
                        if (values[i] != 0)
                        {
                            entries[entry] = values[i];
                            indices[entry++] = first + i;
                        }
                    }
                }
                slot = blocks.Length * Vector<float>.Count;
            }
            for (; slot < values.Length; slot++)
            {
                if (values[slot] != 0)
                {
                    entries[entry] = values[slot];
                    indices[entry++] = first + slot;
                }
            }
            return entry;
        }

        /// <summary>
        /// <c>x = isNaN(x) ? replacement : x; x = (x - shift) * scale</c>, slot by slot, then <c>+ 0</c>: a negative zero becomes +0
        /// (the ML.NET normalizer drops zeros from its buffer, so they read back as +0); nothing else changes.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Standardize(Span<float> x, ReadOnlySpan<float> replacement, ReadOnlySpan<float> shift, ReadOnlySpan<float> scale)
        {
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                ref float xr = ref MemoryMarshal.GetReference(x);
                ref float rr = ref MemoryMarshal.GetReference(replacement);
                ref float hr = ref MemoryMarshal.GetReference(shift);
                ref float sr = ref MemoryMarshal.GetReference(scale);
                for (; i + Vector<float>.Count <= x.Length; i += Vector<float>.Count)
                {
                    Vector<float> v = Vector.LoadUnsafe(ref xr, (nuint)i);
                    v = Vector.ConditionalSelect(Vector.Equals(v, v), v, Vector.LoadUnsafe(ref rr, (nuint)i));
                    v = (v - Vector.LoadUnsafe(ref hr, (nuint)i)) * Vector.LoadUnsafe(ref sr, (nuint)i);
                    (v + Vector<float>.Zero).StoreUnsafe(ref xr, (nuint)i);
                }
            }
            for (; i < x.Length; i++)
            {
                float v = float.IsNaN(x[i]) ? replacement[i] : x[i];
                x[i] = (v - shift[i]) * scale[i] + 0f;
            }
        }

        /// <summary>The writer of a numeric or copied part whose column is not a Single scalar: converted to Single slot by slot.</summary>
        private static PartWriter MakeWriter(DataViewRow input, DataViewSchema.Column column)
        {
            DataViewType item = column.Type is VectorDataViewType vector ? vector.ItemType : column.Type;
            return item.RawType switch
            {
                Type t when t == typeof(float) => Converted<float>(input, column, v => v),
                Type t when t == typeof(double) => Converted<double>(input, column, v => (float)v),
                Type t when t == typeof(bool) => Converted<bool>(input, column, v => v ? 1f : 0f),
                Type t when t == typeof(sbyte) => Converted<sbyte>(input, column, v => v),
                Type t when t == typeof(byte) => Converted<byte>(input, column, v => v),
                Type t when t == typeof(short) => Converted<short>(input, column, v => v),
                Type t when t == typeof(ushort) => Converted<ushort>(input, column, v => v),
                Type t when t == typeof(int) => Converted<int>(input, column, v => v),
                Type t when t == typeof(uint) => Converted<uint>(input, column, v => v),
                Type t when t == typeof(long) => Converted<long>(input, column, v => v),
                Type t when t == typeof(ulong) => Converted<ulong>(input, column, v => v),
                _ => throw new ArgumentOutOfRangeException(nameof(column), $"Column '{column.Name}' has item type {item}, which the tabular featurizer cannot convert to Single."),
            };
        }

        /// <summary>A scalar or vector of <typeparamref name="T"/> converted to Single as ML.NET's <c>ConvertType</c> converts it (a cast; Boolean 1 or 0).</summary>
        private static PartWriter Converted<T>(DataViewRow input, DataViewSchema.Column column, Func<T, float> convert)
            where T : struct
        {
            if (column.Type is not VectorDataViewType)
            {
                ValueGetter<T> get = input.GetGetter<T>(column);
                T value = default!;
                return destination =>
                {
                    get(ref value);
                    destination[0] = convert(value);
                    return 1;
                };
            }
            ValueGetter<VBuffer<T>> getVector = input.GetGetter<VBuffer<T>>(column);
            VBuffer<T> buffer = default;
            return destination =>
            {
                getVector(ref buffer);
                ReadOnlySpan<T> values = buffer.GetValues();
                if (buffer.IsDense)
                {
                    // A dense Single vector (an image's pixels) is copied, not converted slot by slot through a delegate: on 784 slots
                    // the delegate calls cost more than the network that reads them.
                    if (typeof(T) == typeof(float))
                    {
                        MemoryMarshal.Cast<T, float>(values).CopyTo(destination);
                        return values.Length;
                    }
                    for (int i = 0; i < values.Length; i++)
                        destination[i] = convert(values[i]);
                }
                else
                {
                    destination.Clear();
                    ReadOnlySpan<int> indices = buffer.GetIndices();
                    for (int i = 0; i < values.Length; i++)
                        destination[indices[i]] = convert(values[i]);
                }
                return values.Length;
            };
        }

        // ONNX: the ML.NET chain the step stands for writes its own nodes (Cast, Concat, Imputer, Scaler, LabelEncoder, OneHotEncoder).
        bool ICanSaveOnnx.CanSaveOnnx(OnnxContext ctx) => true;

        void ISaveAsOnnx.SaveAsOnnx(OnnxContext ctx)
        {
            IDataView end = _featurizer._equivalent.Transform(new EmptyDataView(Host, InputSchema));
            var steps = new List<IDataTransform>();
            for (IDataView view = end; view is IDataTransform step; view = step.Source)
                steps.Add(step);
            steps.Reverse();
            foreach (IDataTransform step in steps)
            {
                if (step is not ITransformCanSaveOnnx onnx || !onnx.CanSaveOnnx(ctx))
                    throw new NotSupportedException($"The tabular featurizer's step {step.GetType().Name} cannot be exported to ONNX.");
                onnx.SaveAsOnnx(ctx);
            }
        }
    }
}

/// <summary>
/// Per-slot means as ML.NET's mean imputation computes them for Single vectors, to the bit: over each slot's finite non-zero values
/// a running mean in double (updated as <c>m - m/n + v/n</c> when <c>m</c> and <c>v</c> differ in sign, so it cannot overflow, else
/// <c>m + (v - m)/n</c>), then scaled by the share of the row's finite values that were non-zero (zeros, stored or not, count as
/// values; NaN and infinities do not) and rounded to Single. A slot with no finite value gets NaN, which a one-row fit turns into
/// ML.NET's own answer for it (0, with its warning).
/// </summary>
internal sealed class SlotMeans
{
    private readonly double[] _mean;
    private readonly long[] _nonZero, _missing;
    private long _rows;

    public SlotMeans(int width)
    {
        _mean = new double[width];
        _nonZero = new long[width];
        _missing = new long[width];
    }

    /// <summary>Takes one row (dense or sparse).</summary>
    public void Add(in VBuffer<float> row)
    {
        _rows++;
        ReadOnlySpan<float> values = row.GetValues();
        if (row.IsDense)
        {
            for (int slot = 0; slot < values.Length; slot++)
                Add(slot, values[slot]);
        }
        else
        {
            ReadOnlySpan<int> indices = row.GetIndices();
            for (int k = 0; k < values.Length; k++)
                Add(indices[k], values[k]);
        }
    }

    private void Add(int slot, double value)
    {
        if (value == 0)
            return;
        if (!double.IsFinite(value))
        {
            _missing[slot]++;
            return;
        }
        long n = ++_nonZero[slot];
        double mean = _mean[slot];
        _mean[slot] = (mean > 0) != (value > 0) ? mean - mean / n + value / n : mean + (value - mean) / n;
    }

    /// <summary>Each slot's mean; NaN where the slot had no finite value.</summary>
    public float[] Result()
    {
        var result = new float[_mean.Length];
        for (int slot = 0; slot < result.Length; slot++)
        {
            long finite = _rows - _missing[slot];
            result[slot] = finite == 0 ? float.NaN : (float)(_mean[slot] * ((double)_nonZero[slot] / finite));
        }
        return result;
    }
}

/// <summary>
/// The slot of a categorical value: an exact, ordinal, untrimmed match, as <c>ValueToKey</c> maps a value (an empty or unseen value
/// has none). With a few values of each length, the usual case, the value is compared with those of its length, which costs less
/// per row than hashing it; otherwise a dictionary looks it up.
/// </summary>
internal sealed class CategorySlots
{
    // Values of one length compared one by one at most; longer values than MaxComparedLength always go to the dictionary.
    private const int MaxComparedPerLength = 8;
    private const int MaxComparedLength = 64;

    private readonly string[][]? _byLength;
    private readonly int[][]? _slotsByLength;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    /// <param name="terms">The distinct, non-empty values in slot order.</param>
    public CategorySlots(string[] terms)
    {
        var map = new Dictionary<string, int>(terms.Length, StringComparer.Ordinal);
        for (int t = 0; t < terms.Length; t++)
            map.Add(terms[t], t);
        _lookup = map.GetAlternateLookup<ReadOnlySpan<char>>();
        IGrouping<int, int>[] lengths = Enumerable.Range(0, terms.Length).GroupBy(t => terms[t].Length).ToArray();
        if (lengths.All(g => g.Key <= MaxComparedLength && g.Count() <= MaxComparedPerLength))
        {
            int longest = terms.Length == 0 ? 0 : terms.Max(t => t.Length);
            _byLength = new string[longest + 1][];
            _slotsByLength = new int[longest + 1][];
            for (int length = 0; length <= longest; length++)
            {
                int[] slots = lengths.FirstOrDefault(g => g.Key == length)?.ToArray() ?? Array.Empty<int>();
                _slotsByLength[length] = slots;
                _byLength[length] = slots.Select(t => terms[t]).ToArray();
            }
        }
    }

    /// <summary>The slot of <paramref name="value"/>, or -1 when it has none.</summary>
    public int Find(ReadOnlySpan<char> value)
    {
        if (_byLength is null)
            return _lookup.TryGetValue(value, out int found) ? found : -1;
        if ((uint)value.Length >= (uint)_byLength.Length)
            return -1;
        string[] candidates = _byLength[value.Length];
        for (int i = 0; i < candidates.Length; i++)
        {
            if (value.SequenceEqual(candidates[i]))
                return _slotsByLength![value.Length][i];
        }
        return -1;
    }
}
