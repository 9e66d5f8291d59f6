using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.FastFeedForward;
using Microsoft.ML.Runtime;
using Microsoft.ML.Transforms;

namespace Microsoft.ML.Fff;

/// <summary>
/// Plans the one-call pipeline of <see cref="FffCatalog.CreatePlan"/>: infers the task, decides how every column is used
/// and builds the unfitted pipeline.
/// </summary>
internal sealed class AutoTrainPlanner
{
    // Internal column names start with this prefix; a numeric suffix is added if the data already has such a name.
    private const string TemporaryPrefix = "__Fff";
    // A String column is categorical when it has at most MaxCategoricalCardinality distinct values AND those are at most this fraction
    // of its non-empty values scanned. Word count plays no part ("Month-to-month", "One year" are categories): what makes one-hot right
    // is that values repeat, so each indicator is seen in several rows. The ratio keeps a small table of all-different sentences
    // (free text with, say, 40 rows and so fewer than 50 distinct values) from becoming 40 one-row indicators.
    private const double MaxDistinctFractionForCategorical = 0.5;
    // Up to FewCategories distinct values (and at most MaxCategoricalCardinality), values that repeat twice on average make a category;
    // above it, up to MaxCategoricalCardinality (256 by default, the widest vector the featurizer always writes dense), they must
    // repeat MinRowsPerManyCategories times each: a US state (51 values) or a country over thousands of customers is a category, not text,
    // and as text its names' character n-grams cost a text featurization per row and let the network memorize rows (mlc_churn's
    // state: AUC 0.852 and 2.5 µs per row as text, 0.886 and 0.56 µs one-hot).
    private const int FewCategories = 50;
    private const int MinRowsPerManyCategories = 10;
    // A String label is binary when it has exactly this many distinct values over all rows (not only the scanned ones: a file
    // sorted by label could show only two classes in its first rows).
    private const int BinaryLabelValueCount = 2;
    // Label values (trimmed, case-insensitive) taken as the positive class of a two-valued String label, when only one value is one.
    private static readonly HashSet<string> PositiveWords = new(StringComparer.OrdinalIgnoreCase) { "yes", "y", "true", "t", "1", "positive", "pos" };

    public AutoTrainPlanner(MLContext context) => Context = context;

    private MLContext Context { get; }

    /// <summary>See <see cref="FffCatalog.CreatePlan"/>.</summary>
    public FffAutoTrainPlan CreatePlan(IDataView data, string labelColumnName, FffAutoTrainOptions? options)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (string.IsNullOrWhiteSpace(labelColumnName))
            throw new ArgumentException("The label column name must not be empty.", nameof(labelColumnName));
        options ??= new FffAutoTrainOptions();
        Validate(options);

        DataViewSchema schema = data.Schema;
        DataViewSchema.Column label = schema.GetColumnOrNull(labelColumnName)
            ?? throw new ArgumentException($"Label column '{labelColumnName}' is not in the data. Available columns: {ListColumns(schema)}.", nameof(labelColumnName));
        // A String label's values decide between binary and multiclass (full pass over the label only; stops at a third value).
        string[]? labelValues = label.Type is TextDataViewType ? ScanLabelValues(data, label, BinaryLabelValueCount + 1) : null;
        FffTask task = ResolveTask(label, options.Task, labelValues);
        string? positiveLabel = null;
        string? positiveReason = null;
        if (task == FffTask.BinaryClassification && labelValues != null)
            (positiveLabel, positiveReason) = ChoosePositiveLabel(label.Name, labelValues, options.PositiveLabel);
        else if (options.PositiveLabel != null)
        {
            throw new ArgumentException($"Option {nameof(FffAutoTrainOptions.PositiveLabel)} = '{options.PositiveLabel}' applies only to a String label trained as binary classification; " +
                $"label '{label.Name}' ({label.Type}) is trained as {task}. Remove the option{(label.Type is TextDataViewType ? $" or set {nameof(FffAutoTrainOptions.Task)} = {nameof(FffTask.BinaryClassification)}" : "")}.",
                nameof(FffAutoTrainOptions.PositiveLabel));
        }

        string? weightName = options.ExampleWeightColumnName;
        DataViewSchema.Column? weight = null;
        if (weightName != null)
        {
            weight = schema.GetColumnOrNull(weightName)
                ?? throw new ArgumentException($"Option {nameof(FffAutoTrainOptions.ExampleWeightColumnName)} names column '{weightName}', which is not in the data. Available columns: {ListColumns(schema)}.",
                    nameof(FffAutoTrainOptions.ExampleWeightColumnName));
            if (weightName == labelColumnName)
                throw new ArgumentException($"Option {nameof(FffAutoTrainOptions.ExampleWeightColumnName)} names the label column '{weightName}'.", nameof(FffAutoTrainOptions.ExampleWeightColumnName));
            if (weight.Value.Type is not NumberDataViewType)
            {
                throw new ArgumentException($"Option {nameof(FffAutoTrainOptions.ExampleWeightColumnName)} names column '{weightName}' of type {weight.Value.Type}; the weight must be a numeric scalar.",
                    nameof(FffAutoTrainOptions.ExampleWeightColumnName));
            }
        }

        var ignored = new HashSet<string>(StringComparer.Ordinal);
        foreach (string? name in options.IgnoreColumns ?? Array.Empty<string>())
        {
            if (name is null || schema.GetColumnOrNull(name) is null)
            {
                throw new ArgumentException($"Option {nameof(FffAutoTrainOptions.IgnoreColumns)} lists '{name ?? "(null)"}', which is not a column of the data. Available columns: {ListColumns(schema)}.",
                    nameof(FffAutoTrainOptions.IgnoreColumns));
            }
            ignored.Add(name);
        }

        Dictionary<string, FffColumnUsage> overrides = ReadOverrides(options, schema, label.Name, weight?.Name, ignored);

        var names = new TemporaryNames(schema);
        var plans = new List<FffColumnPlan>();
        var numeric = new List<DataViewSchema.Column>();
        var keys = new List<DataViewSchema.Column>();
        var strings = new List<DataViewSchema.Column>();
        var forcedCategorical = new List<DataViewSchema.Column>();
        var forcedText = new List<DataViewSchema.Column>();
        foreach (DataViewSchema.Column column in schema)
        {
            if (column.IsHidden)
                continue;
            if (column.Index == label.Index)
                plans.Add(new FffColumnPlan(column.Name, column.Type, FffColumnUsage.Label, $"label of {task}"));
            else if (weight.HasValue && column.Index == weight.Value.Index)
                plans.Add(new FffColumnPlan(column.Name, column.Type, FffColumnUsage.ExampleWeight, "example weight"));
            else if (ignored.Contains(column.Name))
                plans.Add(new FffColumnPlan(column.Name, column.Type, FffColumnUsage.Ignored, $"listed in {nameof(FffAutoTrainOptions.IgnoreColumns)}"));
            else if (overrides.TryGetValue(column.Name, out FffColumnUsage forced))
            {
                string reason = $"set by {nameof(FffAutoTrainOptions.ColumnUsages)}";
                plans.Add(new FffColumnPlan(column.Name, column.Type, forced, reason));
                (forced switch
                {
                    FffColumnUsage.Numeric => numeric,
                    FffColumnUsage.Categorical => forcedCategorical,
                    FffColumnUsage.Text => forcedText,
                    _ => new List<DataViewSchema.Column>(), // Ignored.
                }).Add(column);
            }
            else if (IsNumeric(column.Type))
            {
                numeric.Add(column);
                plans.Add(new FffColumnPlan(column.Name, column.Type, FffColumnUsage.Numeric, "converted to Single, missing values replaced by the mean, normalized"));
            }
            else if (ItemType(column.Type) is KeyDataViewType && column.Type is not VectorDataViewType { IsKnownSize: false })
            {
                keys.Add(column);
                plans.Add(new FffColumnPlan(column.Name, column.Type, FffColumnUsage.Key, "one indicator slot per key value"));
            }
            else if (column.Type is TextDataViewType)
            {
                strings.Add(column);
                plans.Add(null!); // Decided below, from the values.
            }
            else
            {
                string reason = column.Type is VectorDataViewType { IsKnownSize: false } ? "variable-length vectors are not supported"
                    : column.Type is VectorDataViewType ? $"vectors of {ItemType(column.Type)} are not supported"
                    : $"type {column.Type} is not supported (numeric, Boolean, String and key columns are)";
                plans.Add(new FffColumnPlan(column.Name, column.Type, FffColumnUsage.Skipped, reason));
            }
        }

        // String columns: categorical or free text, from the values of the first rows.
        var categorical = new List<DataViewSchema.Column>();
        var text = new List<DataViewSchema.Column>();
        long categoricalSlots = 0;
        if (strings.Count > 0)
        {
            StringColumnStats[] stats = ScanStrings(data, strings, options.MaxCategoricalCardinality);
            int maxDistinct = options.MaxCategoricalCardinality;
            int next = 0;
            for (int i = 0; i < plans.Count; i++)
            {
                if (plans[i] != null)
                    continue;
                DataViewSchema.Column column = strings[next];
                StringColumnStats stat = stats[next++];
                FffColumnUsage usage;
                string reason;
                if (stat.Distinct == 0)
                {
                    usage = FffColumnUsage.Skipped;
                    reason = $"no non-empty value in the first {stat.Rows} rows";
                }
                else if (stat.Distinct <= Math.Min(FewCategories, maxDistinct) && stat.Distinct <= MaxDistinctFractionForCategorical * stat.NonEmpty)
                {
                    usage = FffColumnUsage.Categorical;
                    reason = $"{stat.Distinct} distinct values in {stat.NonEmpty} non-empty of the first {stat.Rows} rows (at most {Math.Min(FewCategories, maxDistinct)}, " +
                        $"and at most {MaxDistinctFractionForCategorical:0.##} of the values): one-hot encoded";
                    categorical.Add(column);
                    categoricalSlots += stat.Distinct;
                }
                else if (stat.Distinct <= maxDistinct && stat.NonEmpty >= MinRowsPerManyCategories * (long)stat.Distinct)
                {
                    usage = FffColumnUsage.Categorical;
                    reason = $"{stat.Distinct} distinct values in {stat.NonEmpty} non-empty of the first {stat.Rows} rows, each {stat.NonEmpty / stat.Distinct} times " +
                        $"on average (more than {FewCategories} distinct values must repeat at least {MinRowsPerManyCategories} times each; at most {maxDistinct}): one-hot encoded";
                    categorical.Add(column);
                    categoricalSlots += stat.Distinct;
                }
                else if (stat.AllNumbers)
                {
                    // Numbers stored as strings (a POCO of strings, a loader told String): their tokens would make a text vector of
                    // one-row words, which both loses the order of the values and lets the network memorize rows.
                    usage = FffColumnUsage.Numeric;
                    reason = $"every non-empty value in the first {stat.Rows} rows is a number (or a missing-value marker such as NA or ?), with more distinct values " +
                        $"than a category: parsed as numeric, unparsable values missing; set {nameof(FffAutoTrainOptions.ColumnUsages)} to {nameof(FffColumnUsage.Text)} to keep it text";
                    numeric.Add(column);
                }
                else if (stat.Identifier)
                {
                    // All-different single words (customer IDs, GUIDs, file names): neither categories (no value repeats) nor text (no
                    // word repeats), so a model can only memorize rows through them.
                    usage = FffColumnUsage.Skipped;
                    reason = $"every one of its {stat.NonEmpty} non-empty values in the first {stat.Rows} rows is different and one word (an identifier): not used; " +
                        $"set {nameof(FffAutoTrainOptions.ColumnUsages)} to {nameof(FffColumnUsage.Text)} or {nameof(FffColumnUsage.Categorical)} to use it";
                }
                else
                {
                    usage = FffColumnUsage.Text;
                    reason = stat.Distinct > maxDistinct
                        ? $"more than {maxDistinct} distinct values in the first {stat.Rows} rows: featurized as text"
                        : stat.Distinct > FewCategories
                        ? $"{stat.Distinct} distinct values in {stat.NonEmpty} non-empty values, each {(double)stat.NonEmpty / stat.Distinct:0.#} times on average " +
                          $"(more than {FewCategories} distinct values must repeat at least {MinRowsPerManyCategories} times each): featurized as text"
                        : $"{stat.Distinct} distinct values in {stat.NonEmpty} non-empty values (more than {MaxDistinctFractionForCategorical:0.##} of them; values rarely repeat): featurized as text";
                    text.Add(column);
                }
                plans[i] = new FffColumnPlan(column.Name, column.Type, usage, reason);
            }
        }

        categorical.AddRange(forcedCategorical);
        text.AddRange(forcedText);
        if (numeric.Count + keys.Count + categorical.Count + text.Count == 0)
        {
            IEnumerable<string> notUsed = plans.Where(p => p.Usage is FffColumnUsage.Skipped or FffColumnUsage.Ignored).Select(p => p.ToString());
            throw new ArgumentException($"No column of the data can be used as a feature (label '{labelColumnName}'). " +
                (notUsed.Any() ? "Columns not used: " + string.Join("; ", notUsed) + "." : "The data has no other column.") +
                " Features may be numeric or Boolean scalars or known-size vectors, String or key columns.", nameof(data));
        }

        // Images (inferred from the features' shape and values, or set): their own recipe, and a whole-number label is their class.
        ImageShape? image = ChooseImageShape(data, options, numeric, categorical.Count + text.Count + keys.Count);
        if (image.HasValue)
        {
            for (int i = 0; i < plans.Count; i++)
            {
                if (plans[i].Usage == FffColumnUsage.Numeric)
                    plans[i] = new FffColumnPlan(plans[i].Name, plans[i].Type, FffColumnUsage.Numeric, "image pixels: converted to Single, missing values replaced by the mean, not normalized (the trainer standardizes each pixel after shifting)");
            }
        }
        if (image.HasValue && options.Task is null && task == FffTask.Regression && label.Type is NumberDataViewType && WholeNumberValues(data, label) is { Count: > 2 } classes)
        {
            task = FffTask.MulticlassClassification;
            int labelPlan = plans.FindIndex(p => p.Usage == FffColumnUsage.Label);
            plans[labelPlan] = new FffColumnPlan(label.Name, label.Type, FffColumnUsage.Label,
                $"label of {task}: images labelled with {classes.Count} whole numbers ({classes.Min} to {classes.Max}) are classified; " +
                $"set {nameof(FffAutoTrainOptions.Task)} = {nameof(FffTask.Regression)} to predict the number instead");
        }

        var chain = new EstimatorChain<ITransformer>();
        var temporaries = new List<string>();

        // Label, converted in place (so evaluators find it in the scored output), and only when the data has it (LabelIfPresentEstimator):
        // rows to score need no label column.
        string? unmapPredictedLabel = null;
        IEstimator<ITransformer>? labelMapping = null;
        switch (task)
        {
            case FffTask.BinaryClassification when positiveLabel != null:
                // Two String values: the positive one to true, the other to false (values outside the two, only possible in other data, to false).
                labelMapping = Context.Transforms.Conversion.MapValue(label.Name,
                    labelValues!.Select(v => new KeyValuePair<string, bool>(v, v == positiveLabel)), label.Name);
                break;
            case FffTask.Regression when label.Type != NumberDataViewType.Single:
                labelMapping = Context.Transforms.Conversion.ConvertType(label.Name, label.Name, DataKind.Single);
                break;
            case FffTask.MulticlassClassification when label.Type is KeyDataViewType key:
                // The trainer reads key labels as UInt32; other key widths are converted (a key stays a key of the same count).
                if (key.RawType != typeof(uint))
                    labelMapping = Context.Transforms.Conversion.ConvertType(label.Name, label.Name, DataKind.UInt32);
                break;
            case FffTask.MulticlassClassification:
                labelMapping = Context.Transforms.Conversion.MapValueToKey(label.Name, label.Name,
                    keyOrdinality: ValueToKeyMappingEstimator.KeyOrdinality.ByValue);
                unmapPredictedLabel = "PredictedLabel";
                break;
        }
        if (labelMapping != null)
            chain = chain.Append<ITransformer>(new LabelIfPresentEstimator(Context, label.Name, labelMapping));

        // Weight: only needed for training. Scope Training: TransformerChain.Transform skips it, so scoring data needs no weight column
        // (a PredictionEngine still applies it). Not in the drop list, since the column is absent from Transform's output.
        string? trainerWeight = null;
        if (weight.HasValue)
        {
            trainerWeight = weight.Value.Name;
            if (weight.Value.Type != NumberDataViewType.Single)
            {
                trainerWeight = names.Next("Weight");
                chain = chain.Append<ITransformer>(Context.Transforms.Conversion.ConvertType(trainerWeight, weight.Value.Name, DataKind.Single), TransformerScope.Training);
            }
        }

        // Features. Without free text, one step of ours (TabularFeaturizerEstimator) computes what the ML.NET chain of
        // AppendFeaturizationChain computes, at a fraction of its per-row cost in a PredictionEngine (docs/tabular.md, per-row latency);
        // free text keeps the chain (its vectors are wide and sparse).
        string features = names.Next("Features");
        chain = text.Count == 0
            ? AppendTabularFeaturizer(chain, schema, features, numeric, categorical, keys, names, temporaries, image.HasValue)
            : AppendFeaturizationChain(chain, features, numeric, categorical, text, keys, names, temporaries);

        // Trainer, then the readable predicted label, then the intermediate columns go.
        EstimatorChain<ITransformer> featurization = chain;
        FffAutoTrainChoices training = AutoTrainChoices.Choose(CountRows(data), EstimateInputs(numeric, keys, categoricalSlots,
            forcedCategorical.Count, text.Count, options.MaxCategoricalCardinality), options,
            task == FffTask.MulticlassClassification ? CountClasses(data, label, labelMapping) : null, image);
        IEstimator<ITransformer> trainer = CreateTrainer(task, label.Name, features, trainerWeight, options, training);
        chain = chain.Append<ITransformer>(trainer);
        var finishing = new List<IEstimator<ITransformer>>();
        if (unmapPredictedLabel != null)
            finishing.Add(Context.Transforms.Conversion.MapKeyToValue(unmapPredictedLabel));
        if (positiveLabel != null)
        {
            // PredictedLabel back in the label's own strings, as for multiclass; ML.NET's binary evaluator reads Score/Probability, not it.
            string negative = labelValues!.Single(v => v != positiveLabel);
            finishing.Add(Context.Transforms.Conversion.MapValue("PredictedLabel",
                new[] { new KeyValuePair<bool, string>(true, positiveLabel), new KeyValuePair<bool, string>(false, negative) }, "PredictedLabel"));
        }
        if (temporaries.Count > 0)
            finishing.Add(Context.Transforms.DropColumns(temporaries.ToArray()));
        foreach (IEstimator<ITransformer> step in finishing)
            chain = chain.Append(step);

        var plan = new FffAutoTrainPlan(task, label.Name, features, weight?.Name, plans, chain, training, positiveLabel)
        {
            Featurization = featurization,
            Trainer = trainer,
            Finishing = finishing,
        };
        Log(plan, positiveReason, LabelWarnings(data, label, task, options.Task));
        return plan;
    }

    /// <summary>
    /// The featurization as ML.NET steps: numeric columns converted to Single, concatenated, missing values replaced by the mean,
    /// normalized (mean-variance); categorical columns one-hot; text featurized; keys one-hot; all concatenated into <paramref name="features"/>.
    /// </summary>
    private EstimatorChain<ITransformer> AppendFeaturizationChain(EstimatorChain<ITransformer> chain, string features, List<DataViewSchema.Column> numeric,
        List<DataViewSchema.Column> categorical, List<DataViewSchema.Column> text, List<DataViewSchema.Column> keys, TemporaryNames names, List<string> temporaries)
    {
        var parts = new List<string>();
        if (numeric.Count > 0)
        {
            var converted = new List<string>();
            var conversions = new List<InputOutputColumnPair>();
            foreach (DataViewSchema.Column column in numeric)
            {
                if (ItemType(column.Type) == NumberDataViewType.Single)
                {
                    converted.Add(column.Name);
                    continue;
                }
                string name = names.Next("Numeric");
                temporaries.Add(name);
                conversions.Add(new InputOutputColumnPair(name, column.Name));
                converted.Add(name);
            }
            if (conversions.Count > 0)
                chain = chain.Append<ITransformer>(Context.Transforms.Conversion.ConvertType(conversions.ToArray(), DataKind.Single));
            // Concatenated first, then imputed slot by slot: the same per-column means as imputing each column, in one transform.
            string vector = names.Next("Numerics");
            temporaries.Add(vector);
            parts.Add(vector);
            chain = chain.Append<ITransformer>(Context.Transforms.Concatenate(vector, converted.ToArray()))
                .Append<ITransformer>(Context.Transforms.ReplaceMissingValues(vector, vector, MissingValueReplacingEstimator.ReplacementMode.Mean))
                .Append<ITransformer>(Context.Transforms.NormalizeMeanVariance(vector, vector));
        }
        if (categorical.Count > 0)
        {
            InputOutputColumnPair[] pairs = categorical.Select(c => new InputOutputColumnPair(names.Next("Category"), c.Name)).ToArray();
            temporaries.AddRange(pairs.Select(p => p.OutputColumnName));
            parts.AddRange(pairs.Select(p => p.OutputColumnName));
            chain = chain.Append<ITransformer>(Context.Transforms.Categorical.OneHotEncoding(pairs));
        }
        foreach (DataViewSchema.Column column in text)
        {
            string name = names.Next("Text");
            temporaries.Add(name);
            parts.Add(name);
            chain = chain.Append<ITransformer>(FffTextFeaturization.Create(Context, name, column.Name));
        }
        if (keys.Count > 0)
        {
            // OneHotEncoding rejects key inputs (its value-to-key step needs a primitive type); MapKeyToVector is the one-hot of a key.
            InputOutputColumnPair[] pairs = keys.Select(c => new InputOutputColumnPair(names.Next("Key"), c.Name)).ToArray();
            temporaries.AddRange(pairs.Select(p => p.OutputColumnName));
            parts.AddRange(pairs.Select(p => p.OutputColumnName));
            chain = chain.Append<ITransformer>(Context.Transforms.Conversion.MapKeyToVector(pairs));
        }
        return chain.Append<ITransformer>(Context.Transforms.Concatenate(features, parts.ToArray()));
    }

    /// <summary>
    /// The same featurization with numeric and String categorical columns in one <see cref="TabularFeaturizerEstimator"/> step; only
    /// String columns read as numbers (parsed), non-String categorical columns and keys keep a step of their own in front of it.
    /// </summary>
    private EstimatorChain<ITransformer> AppendTabularFeaturizer(EstimatorChain<ITransformer> chain, DataViewSchema input, string features, List<DataViewSchema.Column> numeric,
        List<DataViewSchema.Column> categorical, List<DataViewSchema.Column> keys, TemporaryNames names, List<string> temporaries, bool image)
    {
        var parts = new List<(TabularPartKind Kind, string Column)>();
        var parsed = new List<InputOutputColumnPair>();
        foreach (DataViewSchema.Column column in numeric)
        {
            if (column.Type is not TextDataViewType)
            {
                parts.Add((TabularPartKind.Numeric, column.Name));
                continue;
            }
            string name = names.Next("Numeric");
            temporaries.Add(name);
            parsed.Add(new InputOutputColumnPair(name, column.Name));
            parts.Add((TabularPartKind.Numeric, name));
        }
        if (parsed.Count > 0)
            chain = chain.Append<ITransformer>(Context.Transforms.Conversion.ConvertType(parsed.ToArray(), DataKind.Single));
        var oneHot = new List<InputOutputColumnPair>();
        foreach (DataViewSchema.Column column in categorical)
        {
            if (column.Type is TextDataViewType)
            {
                parts.Add((TabularPartKind.Categorical, column.Name));
                continue;
            }
            string name = names.Next("Category");
            temporaries.Add(name);
            oneHot.Add(new InputOutputColumnPair(name, column.Name));
            parts.Add((TabularPartKind.Copied, name));
        }
        if (oneHot.Count > 0)
            chain = chain.Append<ITransformer>(Context.Transforms.Categorical.OneHotEncoding(oneHot.ToArray()));
        if (keys.Count > 0)
        {
            InputOutputColumnPair[] pairs = keys.Select(c => new InputOutputColumnPair(names.Next("Key"), c.Name)).ToArray();
            temporaries.AddRange(pairs.Select(p => p.OutputColumnName));
            parts.AddRange(pairs.Select(p => (TabularPartKind.Copied, p.OutputColumnName)));
            chain = chain.Append<ITransformer>(Context.Transforms.Conversion.MapKeyToVector(pairs));
        }
        // Narrow vectors are written dense: the network scores a dense row faster, and the step marks the vector so that the trainer
        // scales it as before (the model is the one the ML.NET featurization's representation gave).
        // Images: raw pixels (missing ones imputed), dense at any width; the trainer standardizes them after shifting.
        return chain.Append<ITransformer>(new TabularFeaturizerEstimator(Context, features, parts, chain.GetOutputSchema(SchemaShape.Create(input)), denseRows: true, imageRows: image));
    }

    /// <summary>See <see cref="FffCatalog.InferTask"/>.</summary>
    public static FffTask InferTask(DataViewType labelType)
    {
        ArgumentNullException.ThrowIfNull(labelType);
        return TryInferTask(labelType) ?? throw new ArgumentException(
            $"A label of type {labelType} is not supported; {AcceptedLabelTypes}.", nameof(labelType));
    }

    private const string AcceptedLabelTypes = "the label must be Boolean (binary classification), a numeric scalar such as Single or Double (regression), or String or a key (multiclass classification)";

    private static FffTask? TryInferTask(DataViewType type) => type switch
    {
        BooleanDataViewType => FffTask.BinaryClassification,
        NumberDataViewType => FffTask.Regression,
        TextDataViewType or KeyDataViewType => FffTask.MulticlassClassification,
        _ => null,
    };

    private static FffTask ResolveTask(DataViewSchema.Column label, FffTask? requested, string[]? labelValues)
    {
        FffTask? inferred = TryInferTask(label.Type);
        if (inferred == FffTask.MulticlassClassification && labelValues?.Length == BinaryLabelValueCount)
            inferred = FffTask.BinaryClassification;
        if (requested == FffTask.BinaryClassification && labelValues != null)
        {
            if (labelValues.Length != BinaryLabelValueCount)
            {
                throw new ArgumentException(
                    $"Label column '{label.Name}' is String with {(labelValues.Length > BinaryLabelValueCount ? "more than 2" : labelValues.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))} distinct values; " +
                    $"{nameof(FffAutoTrainOptions.Task)} = {nameof(FffTask.BinaryClassification)} needs exactly two. Leave {nameof(FffAutoTrainOptions.Task)} null to train multiclass.", "labelColumnName");
            }
            return FffTask.BinaryClassification;
        }
        if (requested is null)
        {
            return inferred ?? throw new ArgumentException(
                $"Label column '{label.Name}' has type {label.Type}, which is not supported; {AcceptedLabelTypes}.", "labelColumnName");
        }
        FffTask task = requested.Value;
        bool ok = task switch
        {
            FffTask.BinaryClassification => label.Type is BooleanDataViewType,
            FffTask.Regression => label.Type is NumberDataViewType or BooleanDataViewType,
            _ => inferred != null, // Multiclass: String, key, numeric or Boolean values all map to keys.
        };
        if (!ok)
        {
            string accepted = task switch
            {
                FffTask.BinaryClassification => "Boolean",
                FffTask.Regression => "numeric or Boolean",
                _ => "String, key, numeric or Boolean",
            };
            throw new ArgumentException(
                $"Label column '{label.Name}' has type {label.Type}, which {nameof(FffAutoTrainOptions.Task)} = {task} does not accept; it needs a {accepted} label.", "labelColumnName");
        }
        return task;
    }

    /// <summary>
    /// About how many values the trainer's feature vector holds, before the featurizer has seen the data: numeric slots, each
    /// key's values, the distinct values counted in the first rows of each inferred categorical column (a forced one counted at
    /// the cardinality cap), and a thousand per text column. It only sizes the libtorch thread choice.
    /// </summary>
    private static long EstimateInputs(List<DataViewSchema.Column> numeric, List<DataViewSchema.Column> keys, long categoricalSlots,
        int forcedCategorical, int text, int maxCategorical)
    {
        long inputs = numeric.Sum(c => (long)Math.Max(1, c.Type.GetValueCount()));
        inputs += keys.Sum(c => (long)Math.Max(1UL, Math.Min(c.Type.GetItemType().GetKeyCount(), (ulong)maxCategorical)));
        return inputs + categoricalSlots + (long)forcedCategorical * maxCategorical + text * 1_000L;
    }

    private IEstimator<ITransformer> CreateTrainer(FffTask task, string label, string features, string? weight, FffAutoTrainOptions options, FffAutoTrainChoices training)
    {
        return task switch
        {
            FffTask.BinaryClassification => Context.BinaryClassification.Trainers.FastFeedForward(Fill<FastFeedForwardBinaryTrainer.Options>()),
            FffTask.MulticlassClassification => Context.MulticlassClassification.Trainers.FastFeedForward(Fill<FastFeedForwardMulticlassTrainer.Options>()),
            _ => Context.Regression.Trainers.FastFeedForward(Fill<FastFeedForwardRegressionTrainer.Options>()),
        };

        // The simple catalog overload's options, plus the seed and progress the auto-train options carry.
        T Fill<T>() where T : FastFeedForwardOptionsBase, new()
        {
            T trainerOptions = CatalogOptions.FastFeedForward<T>(label, features, weight, training.Depth, training.LeafWidth, training.NumberOfEpochs);
            trainerOptions.BatchSize = training.BatchSize;
            trainerOptions.BatchSizeChosenForData = !options.BatchSize.HasValue;
            trainerOptions.LearningRate = training.LearningRate;
            trainerOptions.HoldoutFraction = training.ValidationFraction;
            trainerOptions.EarlyStoppingPatience = training.EarlyStoppingPatience;
            if (training.EpochCandidates.Count > 1)
            {
                trainerOptions.EpochCandidates = training.EpochCandidates.ToArray();
                trainerOptions.EpochSelectionFolds = FffAutoTrainChoices.EpochSelectionFolds;
            }
            if (training.EnsembleSize > 1 || options.EnsembleSize.HasValue)
                trainerOptions.EnsembleSize = training.EnsembleSize;
            trainerOptions.Seed = options.Seed;
            trainerOptions.NumberOfThreads = training.NumberOfThreads;
            if (options.FeatureScaling is FffFeatureScaling scaling)
                trainerOptions.FeatureScaling = scaling;
            if (options.NumericEmbedding is FffNumericEmbedding embedding)
                trainerOptions.NumericEmbedding = embedding;
            trainerOptions.Progress = options.Progress;
            // Without a holdout every epoch runs and the last is kept: its training-sample metrics are measured once, at the end,
            // unless a progress subscriber asked for the curve.
            if (training.ValidationFraction == 0 && options.Progress is null)
                trainerOptions.EpochMetrics = EpochMetrics.Last;
            if (training.ImageHeight > 0)
                ApplyImageRecipe(trainerOptions, training);
            if (options.InputDropout is float dropout)
                trainerOptions.InputDropout = dropout;
            if (options.ClampToTrainingRange is bool clamp)
                trainerOptions.ClampToTrainingRange = clamp;
            trainerOptions.RepeatedRowOffsets = training.RepeatedRowOffsets;
            return trainerOptions;
        }
    }

    /// <summary>
    /// What images get besides their tree shape (<see cref="AutoTrainChoices"/>): input dropout, and images of at least
    /// <see cref="FffAutoTrainChoices.MinShiftedImageSide"/> pixels a side moved by up to a pixel in each training batch. Measured
    /// on the first 10,000 MNIST training rows (docs/decisions.md): 92.1 % without either, 94.5 % with dropout, 95.5 % with both;
    /// the other parts of the MNIST study's recipe (master leaf, load balancing, two-phase hardening, fine-tune soft targets) moved
    /// accuracy by less than their noise there and on scikit-learn's digits, and cost training time, so they are left out.
    /// </summary>
    private static void ApplyImageRecipe(FastFeedForwardOptionsBase trainerOptions, FffAutoTrainChoices training)
    {
        trainerOptions.ImageHeight = training.ImageHeight;
        trainerOptions.ImageWidth = training.ImageWidth;
        // A pixel is a small move on a 28-pixel digit (MNIST: +1 point) and a large one on an 8-pixel digit that fills its frame
        // (scikit-learn's digits: 94.8 % -> 90.1 %), so small images are not shifted.
        if (Math.Min(training.ImageHeight, training.ImageWidth) >= FffAutoTrainChoices.MinShiftedImageSide)
        {
            trainerOptions.ShiftAugmentation = ImageShift;
            // The shifted model is compared with one trained without shifts (on the holdout, or below 5,000 rows on a check slice)
            // and the better is kept: on MNIST shifts gained a point, on Fashion-MNIST they cost dense networks about one.
            trainerOptions.CompareShiftAugmentation = true;
        }
        trainerOptions.InputDropout = ImageInputDropout;
    }

    private const int ImageShift = 1;
    // Pixels are many and redundant: dropping a fifth of them per row regularizes like more data (MNIST 10k: 92.1 % -> 94.5 %;
    // digits: 94.8 % -> 97.8 %).
    private const float ImageInputDropout = 0.2f;

    private static void Validate(FffAutoTrainOptions options)
    {
        if (options.Task is FffTask task && !Enum.IsDefined(task))
            throw OutOfRange(nameof(options.Task), task, "is not a defined value");
        if (options.BatchSize < 1)
            throw OutOfRange(nameof(options.BatchSize), options.BatchSize, "must be at least 1");
        if (options.LearningRate is float rate && !(float.IsFinite(rate) && rate > 0))
            throw OutOfRange(nameof(options.LearningRate), rate, "must be finite and greater than 0");
        if (options.ValidationFraction is double fraction && !(fraction >= 0 && fraction <= 0.5))
            throw OutOfRange(nameof(options.ValidationFraction), fraction, "must be between 0 and 0.5");
        if (options.EarlyStoppingPatience < 0)
            throw OutOfRange(nameof(options.EarlyStoppingPatience), options.EarlyStoppingPatience, "must be at least 0");
        if (options.Depth < 0 || options.Depth > FffDefaults.MaxDepth)
            throw OutOfRange(nameof(options.Depth), options.Depth, $"must be between 0 and {FffDefaults.MaxDepth}");
        if (options.LeafWidth < 1 || options.LeafWidth > FffDefaults.MaxLeafWidth)
            throw OutOfRange(nameof(options.LeafWidth), options.LeafWidth, $"must be between 1 and {FffDefaults.MaxLeafWidth}");
        if (options.EnsembleSize < 1 || options.EnsembleSize > LeafTreeEnsembleNetwork.MaxTrainedMembers)
            throw OutOfRange(nameof(options.EnsembleSize), options.EnsembleSize, $"must be between 1 and {LeafTreeEnsembleNetwork.MaxTrainedMembers}");
        if (options.NumberOfThreads is < 1)
            throw OutOfRange(nameof(options.NumberOfThreads), options.NumberOfThreads, "must be at least 1 when set");
        if (options.NumberOfEpochs is < 1)
            throw OutOfRange(nameof(options.NumberOfEpochs), options.NumberOfEpochs, "must be at least 1");
        if (options.EpochCandidates is int[] candidates && candidates.Any(epochs => epochs < 1))
            throw OutOfRange(nameof(options.EpochCandidates), candidates.First(epochs => epochs < 1), "must hold numbers of epochs of at least 1");
        if (options.MaxCategoricalCardinality < 2)
            throw OutOfRange(nameof(options.MaxCategoricalCardinality), options.MaxCategoricalCardinality, "must be at least 2");
        if (options.TimeBudget is TimeSpan budget && budget <= TimeSpan.Zero)
            throw OutOfRange(nameof(options.TimeBudget), budget, "must be greater than zero (or null for a single training run)");
        if (options.TimeBudget.HasValue && options.ExampleWeightColumnName != null)
        {
            throw new ArgumentException($"Option {nameof(FffAutoTrainOptions)}.{nameof(options.TimeBudget)} runs an experiment, which does not use example weights; " +
                $"remove {nameof(options.ExampleWeightColumnName)} or set {nameof(options.TimeBudget)} to null.", nameof(options.TimeBudget));
        }
        if (options.TimeBudget.HasValue && (options.FeatureScaling is not (null or FffFeatureScaling.Auto) || options.NumericEmbedding is not (null or FffNumericEmbedding.None)))
        {
            // The experiment's search space has no input stages; dropping them silently would train another model than asked for.
            throw new ArgumentException($"Option {nameof(FffAutoTrainOptions)}.{nameof(options.TimeBudget)} runs an experiment, which does not search input stages; " +
                $"leave {nameof(options.FeatureScaling)} and {nameof(options.NumericEmbedding)} at null, or set {nameof(options.TimeBudget)} to null.", nameof(options.TimeBudget));
        }
        if (options.InputDropout is float inputDropout && !(inputDropout >= 0 && inputDropout < 1))
            throw OutOfRange(nameof(options.InputDropout), inputDropout, "must be at least 0 and below 1");
        if (options.ImageHeight.HasValue != options.ImageWidth.HasValue)
        {
            throw new ArgumentException($"Options {nameof(FffAutoTrainOptions)}.{nameof(options.ImageHeight)} and {nameof(options.ImageWidth)} are set together " +
                $"(both at least 2 for images, both 0 for a table, both null to infer); only {(options.ImageHeight.HasValue ? nameof(options.ImageHeight) : nameof(options.ImageWidth))} is set.",
                options.ImageHeight.HasValue ? nameof(options.ImageWidth) : nameof(options.ImageHeight));
        }
        if (options.ImageHeight is int imageHeight && options.ImageWidth is int imageWidth && !(imageHeight == 0 && imageWidth == 0) && (imageHeight < 2 || imageWidth < 2))
            throw OutOfRange(imageHeight < 2 ? nameof(options.ImageHeight) : nameof(options.ImageWidth), imageHeight < 2 ? imageHeight : imageWidth, "must be at least 2, or 0 together with the other");
        if (options.ExampleWeightColumnName != null && string.IsNullOrWhiteSpace(options.ExampleWeightColumnName))
            throw new ArgumentException($"Option {nameof(FffAutoTrainOptions)}.{nameof(options.ExampleWeightColumnName)} must name a column or be null.", nameof(options.ExampleWeightColumnName));

        static ArgumentOutOfRangeException OutOfRange(string option, object value, string rule)
            => new(option, value, $"Option {nameof(FffAutoTrainOptions)}.{option} {rule}; it is {value}.");
    }

    /// <summary>
    /// Whether the numeric features are images, and their shape: set by <see cref="FffAutoTrainOptions.ImageHeight"/> and
    /// <see cref="FffAutoTrainOptions.ImageWidth"/>, or inferred when the features are only numeric (Single, Double or integer
    /// columns, no Strings parsed as numbers, no Booleans), number <c>h x h</c> or <c>3 x h x h</c> slots with <c>h</c> at least
    /// <see cref="FffAutoTrainChoices.MinImageSide"/>, and no value of the first <see cref="FffAutoTrainChoices.ImageScanRows"/> rows is
    /// negative or infinite (pixel intensities; standardized or signed measurements are not images).
    /// </summary>
    private static ImageShape? ChooseImageShape(IDataView data, FffAutoTrainOptions options, List<DataViewSchema.Column> numeric, int otherFeatures)
    {
        int slots = numeric.Sum(c => c.Type is VectorDataViewType vector ? vector.Size : 1);
        if (options.ImageHeight is int height && options.ImageWidth is int width)
        {
            if (height == 0)
                return null;
            if (otherFeatures > 0 || numeric.Count == 0 || slots % (height * width) != 0)
            {
                throw new ArgumentException($"Options {nameof(FffAutoTrainOptions.ImageHeight)} = {height} and {nameof(FffAutoTrainOptions.ImageWidth)} = {width} describe images " +
                    $"of {height * width} pixels per channel, but the features are {slots} numeric slot(s){(otherFeatures > 0 ? $" and {otherFeatures} categorical, text or key column(s)" : "")}; " +
                    $"images must be the only features and a whole number of channels. List other columns in {nameof(FffAutoTrainOptions.IgnoreColumns)}, correct the sizes, " +
                    "or set both to 0 to train the data as a table.", nameof(FffAutoTrainOptions.ImageHeight));
            }
            return new ImageShape(height, width, slots / (height * width), $"images of {slots / (height * width)} channel(s) x {height} x {width} pixels: set by {nameof(FffAutoTrainOptions.ImageHeight)} and " +
                $"{nameof(FffAutoTrainOptions.ImageWidth)}; trained with the image recipe{(Math.Min(height, width) >= FffAutoTrainChoices.MinShiftedImageSide ? " (with shift augmentation of 1 pixel)" : " (no shift augmentation: smaller than " + FffAutoTrainChoices.MinShiftedImageSide + " pixels a side)")}");
        }
        if (otherFeatures > 0 || numeric.Count == 0 || numeric.Any(c => ItemType(c.Type) is not NumberDataViewType))
            return null;
        int side = 0, channels = 0;
        foreach (int c in new[] { 1, 3 })
        {
            int h = (int)Math.Round(Math.Sqrt(slots / (double)c));
            if (slots % c == 0 && h * h * c == slots && h >= FffAutoTrainChoices.MinImageSide)
                (side, channels) = (h, c);
        }
        if (side == 0)
            return null;
        using (DataViewRowCursor cursor = data.GetRowCursor(numeric))
        {
            Func<bool>[] nonNegative = numeric.Select(c => NonNegativeRow(cursor, c)).ToArray();
            for (int row = 0; row < FffAutoTrainChoices.ImageScanRows && cursor.MoveNext(); row++)
            {
                foreach (Func<bool> check in nonNegative)
                {
                    if (!check())
                        return null;
                }
            }
        }
        return new ImageShape(side, side, channels, $"images of {channels} channel(s) x {side} x {side} pixels: the {slots} numeric slots are {(channels == 1 ? "" : "3 x ")}{side} x {side} and " +
            $"no value of the first {FffAutoTrainChoices.ImageScanRows:N0} rows is negative; trained with the image recipe (tree shape, input dropout" +
            $"{(side >= FffAutoTrainChoices.MinShiftedImageSide ? ", shift augmentation of 1 pixel" : "")}); set {nameof(FffAutoTrainOptions.ImageHeight)} and {nameof(FffAutoTrainOptions.ImageWidth)} to 0 to train it as a table");

        // A getter telling whether the row's values of the column are all non-negative and finite (NaN: missing, allowed).
        static Func<bool> NonNegativeRow(DataViewRowCursor cursor, DataViewSchema.Column column)
        {
            Type raw = ItemType(column.Type).RawType;
            if (raw == typeof(float))
                return Reader<float>(cursor, column);
            if (raw == typeof(double))
                return Reader<double>(cursor, column);
            if (raw == typeof(byte))
                return Reader<byte>(cursor, column);
            if (raw == typeof(sbyte))
                return Reader<sbyte>(cursor, column);
            if (raw == typeof(short))
                return Reader<short>(cursor, column);
            if (raw == typeof(ushort))
                return Reader<ushort>(cursor, column);
            if (raw == typeof(int))
                return Reader<int>(cursor, column);
            if (raw == typeof(uint))
                return Reader<uint>(cursor, column);
            if (raw == typeof(long))
                return Reader<long>(cursor, column);
            return Reader<ulong>(cursor, column);
        }

        static Func<bool> Reader<T>(DataViewRowCursor cursor, DataViewSchema.Column column) where T : struct, System.Numerics.INumberBase<T>
        {
            if (column.Type is VectorDataViewType)
            {
                ValueGetter<VBuffer<T>> vector = cursor.GetGetter<VBuffer<T>>(column);
                VBuffer<T> values = default;
                return () =>
                {
                    vector(ref values);
                    foreach (T value in values.GetValues())
                    {
                        if (!Pixel(double.CreateTruncating(value)))
                            return false;
                    }
                    return true;
                };
            }
            ValueGetter<T> scalar = cursor.GetGetter<T>(column);
            T x = default;
            return () => { scalar(ref x); return Pixel(double.CreateTruncating(x)); };
        }

        static bool Pixel(double value) => double.IsNaN(value) || (value >= 0 && double.IsFinite(value));
    }

    private static bool IsNumeric(DataViewType type)
        => type is NumberDataViewType or BooleanDataViewType
            || type is VectorDataViewType { IsKnownSize: true, ItemType: NumberDataViewType or BooleanDataViewType };

    private static DataViewType ItemType(DataViewType type) => type is VectorDataViewType vector ? vector.ItemType : type;

    private static string ListColumns(DataViewSchema schema)
    {
        string[] visible = schema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}' ({c.Type})").ToArray();
        return visible.Length == 0 ? "(none)" : string.Join(", ", visible);
    }

    private void Log(FffAutoTrainPlan plan, string? positiveReason, IEnumerable<string> labelWarnings)
    {
        using IChannel ch = ((IChannelProvider)Context).Start("FffAutoTrain");
        ch.Info(MessageSensitivity.Schema, "{0}", plan.ToString());
        if (positiveReason != null)
            ch.Info(MessageSensitivity.Schema, "{0}", positiveReason);
        foreach (FffColumnPlan column in plan.SkippedColumns)
            ch.Warning(MessageSensitivity.Schema, "Column {0} is not used as a feature: {1}.", column.Name, column.Reason);
        foreach (string warning in labelWarnings)
            ch.Warning(MessageSensitivity.Schema, "{0}", warning);
    }

    // Columns the trained model writes; a label of the same name is hidden by them in scored data.
    private static readonly string[] OutputColumns = { "Score", "Probability", "PredictedLabel" };

    /// <summary>
    /// Label choices that train but surprise later, as log warnings: a label named like an output column (scored data then holds the
    /// prediction under the label's name, so <c>Evaluate</c> compares predictions with themselves), and a numeric label of 0/1 or of a few
    /// whole numbers inferred as regression (no Probability, no classes).
    /// </summary>
    private static IEnumerable<string> LabelWarnings(IDataView data, DataViewSchema.Column label, FffTask task, FffTask? requested)
    {
        if (OutputColumns.Contains(label.Name, StringComparer.Ordinal))
        {
            yield return $"Label column '{label.Name}' has the name of a column the model writes: in scored data it holds the prediction, so Evaluate " +
                $"would compare the predictions with themselves. Copy the label to another name (mlContext.Transforms.CopyColumns) and train on that.";
        }
        if (requested is null && task == FffTask.Regression && label.Type is NumberDataViewType && WholeNumberValues(data, label) is { } values)
        {
            if (values.Count == 2 && values.Min == 0 && values.Max == 1)
            {
                yield return $"Label column '{label.Name}' ({label.Type}) holds only 0 and 1 and is trained as regression (numeric labels are). For binary " +
                    "classification with a Probability, make it Boolean first (for example mlContext.Transforms.CustomMapping, or a bool property in your class).";
            }
            else if (values.Count > 2)
            {
                // Digits, grades or codes stored as numbers (an image table's 0..9 label): regression is a valid reading, classes the likelier one.
                yield return $"Label column '{label.Name}' ({label.Type}) holds only {values.Count} whole numbers ({values.Min} to {values.Max}) and is trained as " +
                    $"regression (numeric labels are). If they are classes, set {nameof(FffAutoTrainOptions)}.{nameof(FffAutoTrainOptions.Task)} = " +
                    $"{nameof(FffTask)}.{nameof(FffTask.MulticlassClassification)}.";
            }
        }
    }

    /// <summary>Most distinct whole-number label values for which <see cref="LabelWarnings"/> suggests classes.</summary>
    private const int MaxWholeNumberClasses = 20;

    /// <summary>
    /// The distinct values of a numeric label (NaN rows aside) when there are at most <see cref="MaxWholeNumberClasses"/> and all are whole
    /// numbers; <c>null</c> otherwise (stops at the first value that rules it out).
    /// </summary>
    private static SortedSet<double>? WholeNumberValues(IDataView data, DataViewSchema.Column label)
    {
        // Read as Double through a context of its own: a step made on the user's context would draw a seed from it and so change the
        // seed of the trainer made after it (the model would differ from the one the same data gave before).
        IDataView asDouble = label.Type == NumberDataViewType.Double ? data
            : new MLContext(seed: 0).Transforms.Conversion.ConvertType("__FffLabel01__", label.Name, DataKind.Double).Fit(data).Transform(data);
        DataViewSchema.Column column = label.Type == NumberDataViewType.Double ? label : asDouble.Schema["__FffLabel01__"];
        var values = new SortedSet<double>();
        using DataViewRowCursor cursor = asDouble.GetRowCursor(new[] { column });
        ValueGetter<double> getter = cursor.GetGetter<double>(column);
        double value = 0;
        while (cursor.MoveNext())
        {
            getter(ref value);
            if (double.IsNaN(value))
                continue;
            if (value != Math.Round(value) || (values.Add(value) && values.Count > MaxWholeNumberClasses))
                return null;
        }
        return values;
    }

    /// <summary>
    /// <paramref name="data"/> without the rows whose label is missing: NaN in a Single or Double label, empty or white space in a String
    /// label (as ML.NET's value-to-key mapping reads it). The same view when no row is missing one (so the model is the one the data gives
    /// without this step), or when the label column is absent or of another type (the plan then reports it). Logs the count left out.
    /// </summary>
    /// <exception cref="ArgumentException">Every row's label is missing.</exception>
    public static IDataView WithoutMissingLabels(MLContext context, IDataView data, string labelColumnName)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (string.IsNullOrWhiteSpace(labelColumnName) || data.Schema.GetColumnOrNull(labelColumnName) is not { IsHidden: false } label)
            return data;
        (long missing, long rows) = label.Type switch
        {
            NumberDataViewType when label.Type == NumberDataViewType.Single => CountMissing<float>(data, label, float.IsNaN),
            NumberDataViewType when label.Type == NumberDataViewType.Double => CountMissing<double>(data, label, double.IsNaN),
            TextDataViewType => CountMissing<ReadOnlyMemory<char>>(data, label, v => v.Span.IsWhiteSpace()),
            _ => (0, 0),
        };
        if (missing == 0)
            return data;
        if (missing == rows)
        {
            throw new ArgumentException($"Label column '{label.Name}' has no value in any of its {rows} rows (all {(label.Type is TextDataViewType ? "empty" : "NaN")}); " +
                "Train needs rows with a label.", nameof(data));
        }
        using (IChannel ch = ((IChannelProvider)context).Start("FffAutoTrain"))
        {
            ch.Warning(MessageSensitivity.Schema, "Label column '{0}': {1} of {2} rows have no label ({3}) and are left out of training.",
                label.Name, missing, rows, label.Type is TextDataViewType ? "empty" : "NaN");
        }
        IHostEnvironment env = context;
        return label.Type switch
        {
            TextDataViewType => LambdaFilter.Create(env, "FffMissingLabel", data, label.Name, label.Type, (in ReadOnlyMemory<char> v) => !v.Span.IsWhiteSpace()),
            _ when label.Type == NumberDataViewType.Single => LambdaFilter.Create(env, "FffMissingLabel", data, label.Name, label.Type, (in float v) => !float.IsNaN(v)),
            _ => LambdaFilter.Create(env, "FffMissingLabel", data, label.Name, label.Type, (in double v) => !double.IsNaN(v)),
        };

        static (long Missing, long Rows) CountMissing<T>(IDataView data, DataViewSchema.Column label, Func<T, bool> isMissing)
        {
            long missing = 0, rows = 0;
            using DataViewRowCursor cursor = data.GetRowCursor(new[] { label });
            ValueGetter<T> getter = cursor.GetGetter<T>(label);
            T value = default!;
            while (cursor.MoveNext())
            {
                rows++;
                getter(ref value);
                if (isMissing(value))
                    missing++;
            }
            return (missing, rows);
        }
    }

    /// <summary>
    /// Throws when a Single or Double column (scalar or vector) used as numeric holds ±∞ or a Double beyond Single's range (infinite once
    /// converted): the featurization replaces NaN by the mean, but an infinite value would turn the column's mean and every normalized
    /// value into NaN, and the trainer could then only name a slot of the internal feature vector. One pass over those columns.
    /// </summary>
    /// <exception cref="ArgumentException">A column holds such a value; the message names it, the row and the value.</exception>
    public static void CheckFiniteNumerics(IDataView data, FffAutoTrainPlan plan)
    {
        DataViewSchema.Column[] columns = plan.Columns
            .Where(c => c.Usage == FffColumnUsage.Numeric && ItemType(c.Type) is NumberDataViewType number && (number == NumberDataViewType.Single || number == NumberDataViewType.Double))
            .Select(c => data.Schema[c.Name])
            .ToArray();
        if (columns.Length == 0)
            return;
        using DataViewRowCursor cursor = data.GetRowCursor(columns);
        Func<double>[] firstBad = columns.Select(c => FirstBadValue(cursor, c)).ToArray();
        for (long row = 0; cursor.MoveNext(); row++)
        {
            for (int c = 0; c < columns.Length; c++)
            {
                double bad = firstBad[c]();
                if (double.IsNaN(bad))
                    continue;
                throw new ArgumentException($"Column '{columns[c].Name}' has the value {bad.ToString(System.Globalization.CultureInfo.InvariantCulture)} at row {row} (counting from 0). " +
                    $"{nameof(FffCatalog.Train)} replaces missing values (NaN) by the mean, but infinite values{(ItemType(columns[c].Type) == NumberDataViewType.Double ? " and Doubles beyond Single's range (±3.4e38)" : "")} " +
                    $"cannot be scaled: clip or rescale the column, filter those rows, or list it in {nameof(FffAutoTrainOptions.IgnoreColumns)}.", "data");
            }
        }

        // A getter returning the row's first value that is not finite as Single (NaN if none; NaN itself is a missing value).
        static Func<double> FirstBadValue(DataViewRowCursor cursor, DataViewSchema.Column column)
        {
            bool isDouble = ItemType(column.Type) == NumberDataViewType.Double;
            if (column.Type is VectorDataViewType)
            {
                if (isDouble)
                {
                    ValueGetter<VBuffer<double>> vector = cursor.GetGetter<VBuffer<double>>(column);
                    VBuffer<double> values = default;
                    return () => { vector(ref values); return First(values.GetValues()); };
                }
                ValueGetter<VBuffer<float>> floats = cursor.GetGetter<VBuffer<float>>(column);
                VBuffer<float> singles = default;
                return () => { floats(ref singles); return First(singles.GetValues()); };
            }
            if (isDouble)
            {
                ValueGetter<double> scalar = cursor.GetGetter<double>(column);
                double value = 0;
                return () => { scalar(ref value); return IsBad(value) ? value : double.NaN; };
            }
            ValueGetter<float> single = cursor.GetGetter<float>(column);
            float x = 0;
            return () => { single(ref x); return float.IsInfinity(x) ? x : double.NaN; };
        }

        static double First<T>(ReadOnlySpan<T> values) where T : System.Numerics.INumberBase<T>
        {
            foreach (T value in values)
            {
                double v = double.CreateTruncating(value);
                if (IsBad(v))
                    return v;
            }
            return double.NaN;
        }

        static bool IsBad(double value) => !double.IsNaN(value) && !float.IsFinite((float)value);
    }

    /// <summary>The data's row count: the view's own when it knows it, otherwise one cursor pass with no column read.</summary>
    internal static long CountRows(IDataView data)
    {
        if (data.GetRowCount() is long known)
            return known;
        long rows = 0;
        using DataViewRowCursor cursor = data.GetRowCursor(Array.Empty<DataViewSchema.Column>());
        while (cursor.MoveNext())
            rows++;
        return rows;
    }

    /// <summary>What the scan of one String column found.</summary>
    /// <param name="Rows">Rows scanned.</param>
    /// <param name="Distinct">Distinct non-empty values seen (exact up to the cardinality limit + 1; beyond it only while the column may still be numbers or identifiers).</param>
    /// <param name="NonEmpty">Non-empty values read (exact while the column is read: within the cardinality limit, or while it may be numbers or identifiers).</param>
    /// <param name="AllNumbers">Every non-empty value scanned parses as a number (ML.NET's parser: a number or a missing-value marker), and at least one is a number.</param>
    /// <param name="Identifier">Every non-empty value scanned is different from the others and has no white space.</param>
    private readonly record struct StringColumnStats(int Rows, int Distinct, int NonEmpty, bool AllNumbers, bool Identifier);

    /// <summary>
    /// Reads the first <see cref="FffDefaults.CategoricalScanRows"/> rows of the String columns once, counting each column's distinct
    /// non-empty values (trimmed) up to <paramref name="maxCardinality"/> + 1 and its non-empty values, and whether its values are all
    /// numbers or all different single words (read on past the limit while either may hold).
    /// </summary>
    private static StringColumnStats[] ScanStrings(IDataView data, List<DataViewSchema.Column> columns, int maxCardinality)
    {
        var distinct = columns.Select(_ => new HashSet<string>(StringComparer.Ordinal)).ToArray();
        var nonEmpty = new int[columns.Count];
        bool[] numbers = columns.Select(_ => true).ToArray();
        bool[] anyNumber = new bool[columns.Count];
        bool[] identifier = columns.Select(_ => true).ToArray();
        // ML.NET's own text-to-Single parsing, so that a column called numeric here is one that ConvertType reads as numbers.
        var parser = Microsoft.ML.Data.Conversion.Conversions.DefaultInstance;
        int rows = 0;
        using (DataViewRowCursor cursor = data.GetRowCursor(columns))
        {
            ValueGetter<ReadOnlyMemory<char>>[] getters = columns.Select(c => cursor.GetGetter<ReadOnlyMemory<char>>(c)).ToArray();
            ReadOnlyMemory<char> value = default;
            while (rows < FffDefaults.CategoricalScanRows && cursor.MoveNext())
            {
                rows++;
                bool open = false;
                for (int c = 0; c < columns.Count; c++)
                {
                    if (distinct[c].Count > maxCardinality && !numbers[c] && !identifier[c])
                        continue;
                    open = true;
                    getters[c](ref value);
                    ReadOnlyMemory<char> trimmed = value.Trim();
                    ReadOnlySpan<char> span = trimmed.Span;
                    if (span.IsEmpty)
                        continue;
                    nonEmpty[c]++;
                    bool added = distinct[c].GetAlternateLookup<ReadOnlySpan<char>>().Add(span);
                    if (identifier[c] && (!added || span.ContainsAny(WhiteSpace)))
                        identifier[c] = false;
                    if (numbers[c])
                    {
                        numbers[c] = parser.TryParse(in trimmed, out float number);
                        anyNumber[c] |= !float.IsNaN(number);
                    }
                }
                if (!open)
                    break;
            }
        }
        return distinct.Select((set, c) => new StringColumnStats(rows, set.Count, nonEmpty[c], numbers[c] && anyNumber[c], identifier[c])).ToArray();
    }

    private static readonly System.Buffers.SearchValues<char> WhiteSpace = System.Buffers.SearchValues.Create(" \t\r\n\u00a0");

    /// <summary>
    /// Classes of a multiclass label: a key label's count, otherwise the keys its mapping (<c>MapValueToKey</c>, one pass over the
    /// label column) gives the training data.
    /// </summary>
    private static int CountClasses(IDataView data, DataViewSchema.Column label, IEstimator<ITransformer>? labelMapping)
    {
        DataViewType mapped = labelMapping == null ? label.Type : labelMapping.Fit(data).GetOutputSchema(data.Schema)[label.Name].Type;
        return mapped is KeyDataViewType key ? (int)Math.Min(key.Count, int.MaxValue) : 0;
    }

    /// <summary>
    /// The distinct values (exact, as the label mapping compares them) of a String label over all rows, in ordinal order; stops at
    /// <paramref name="limit"/> values. One column, so cheap next to training, which reads every row many times.
    /// </summary>
    private static string[] ScanLabelValues(IDataView data, DataViewSchema.Column label, int limit)
    {
        var values = new HashSet<string>(StringComparer.Ordinal);
        using (DataViewRowCursor cursor = data.GetRowCursor(new[] { label }))
        {
            ValueGetter<ReadOnlyMemory<char>> getter = cursor.GetGetter<ReadOnlyMemory<char>>(label);
            ReadOnlyMemory<char> value = default;
            HashSet<string>.AlternateLookup<ReadOnlySpan<char>> lookup = values.GetAlternateLookup<ReadOnlySpan<char>>();
            while (values.Count < limit && cursor.MoveNext())
            {
                getter(ref value);
                lookup.Add(value.Span);
            }
        }
        return values.OrderBy(v => v, StringComparer.Ordinal).ToArray();
    }

    /// <summary>
    /// The positive class of a two-valued String label and the log line saying why: the option's value; else the one value that is a
    /// known positive word; else the second in ordinal order ("No" &lt; "Yes", "0" &lt; "1"), a fixed rule so retraining never flips it.
    /// </summary>
    private static (string Positive, string Reason) ChoosePositiveLabel(string labelName, string[] values, string? requested)
    {
        string other(string v) => v == values[0] ? values[1] : values[0];
        if (requested != null)
        {
            if (Array.IndexOf(values, requested) < 0)
            {
                throw new ArgumentException($"Option {nameof(FffAutoTrainOptions.PositiveLabel)} = '{requested}' is not a value of label '{labelName}'; " +
                    $"its values are '{values[0]}' and '{values[1]}' (exact, case-sensitive).", nameof(FffAutoTrainOptions.PositiveLabel));
            }
            return (requested, $"Binary classification on String label '{labelName}': '{requested}' is the positive class (true), '{other(requested)}' false " +
                $"(set by {nameof(FffAutoTrainOptions.PositiveLabel)}).");
        }
        string[] known = values.Where(v => PositiveWords.Contains(v.Trim())).ToArray();
        if (known.Length == 1)
        {
            return (known[0], $"Binary classification on String label '{labelName}' (two values): '{known[0]}' is the positive class (true), '{other(known[0])}' false " +
                $"(a known positive word). Set {nameof(FffAutoTrainOptions.PositiveLabel)} to choose, or {nameof(FffAutoTrainOptions.Task)} = {nameof(FffTask.MulticlassClassification)}.");
        }
        return (values[1], $"Binary classification on String label '{labelName}' (two values): '{values[1]}' is the positive class (true), '{values[0]}' false " +
            $"(the second in ordinal order). Set {nameof(FffAutoTrainOptions.PositiveLabel)} to choose, or {nameof(FffAutoTrainOptions.Task)} = {nameof(FffTask.MulticlassClassification)}.");
    }

    /// <summary>Checks <see cref="FffAutoTrainOptions.ColumnUsages"/> against the schema and returns it as a dictionary (empty when null).</summary>
    private static Dictionary<string, FffColumnUsage> ReadOverrides(FffAutoTrainOptions options, DataViewSchema schema, string label, string? weight, HashSet<string> ignored)
    {
        const string option = nameof(FffAutoTrainOptions.ColumnUsages);
        var overrides = new Dictionary<string, FffColumnUsage>(StringComparer.Ordinal);
        foreach ((string name, FffColumnUsage usage) in options.ColumnUsages ?? new Dictionary<string, FffColumnUsage>())
        {
            DataViewSchema.Column column = schema.GetColumnOrNull(name) is { IsHidden: false } found ? found
                : throw new ArgumentException($"Option {option} names column '{name}', which is not in the data; remove it or fix the name. Available columns: {ListColumns(schema)}.", option);
            if (name == label || name == weight)
            {
                throw new ArgumentException($"Option {option} names column '{name}', which is the {(name == label ? "label" : "example weight")}; " +
                    $"remove it from {option}.", option);
            }
            DataViewType item = ItemType(column.Type);
            bool scalar = column.Type is not VectorDataViewType;
            string? problem = usage switch
            {
                FffColumnUsage.Ignored => null,
                FffColumnUsage.Numeric when IsNumeric(column.Type) || column.Type is TextDataViewType => null,
                FffColumnUsage.Categorical when scalar && item is TextDataViewType or NumberDataViewType or BooleanDataViewType => null,
                FffColumnUsage.Text when column.Type is TextDataViewType => null,
                FffColumnUsage.Numeric => "Numeric needs a numeric or Boolean scalar or known-size vector, or a String scalar (parsed)",
                FffColumnUsage.Categorical => "Categorical needs a String, numeric or Boolean scalar",
                FffColumnUsage.Text => "Text needs a String scalar",
                _ => $"only {nameof(FffColumnUsage.Numeric)}, {nameof(FffColumnUsage.Categorical)}, {nameof(FffColumnUsage.Text)} and {nameof(FffColumnUsage.Ignored)} can be set",
            };
            if (problem != null)
                throw new ArgumentException($"Option {option} sets column '{name}' ({column.Type}) to {usage}: {problem}.", option);
            if (ignored.Contains(name) && usage != FffColumnUsage.Ignored)
            {
                throw new ArgumentException($"Column '{name}' is listed in {nameof(FffAutoTrainOptions.IgnoreColumns)} and set to {usage} by {option}; remove it from one of them.", option);
            }
            overrides.Add(name, usage);
        }
        return overrides;
    }

    /// <summary>Column names for intermediate results that no input column has.</summary>
    private sealed class TemporaryNames
    {
        private readonly HashSet<string> _taken;

        public TemporaryNames(DataViewSchema schema) => _taken = new HashSet<string>(schema.Select(c => c.Name), StringComparer.Ordinal);

        public string Next(string purpose)
        {
            string name = TemporaryPrefix + purpose + "__";
            for (int i = 1; !_taken.Add(name); i++)
                name = TemporaryPrefix + purpose + i + "__";
            return name;
        }
    }
}
