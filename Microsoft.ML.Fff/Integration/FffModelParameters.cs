using System;
using System.IO;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff;
using Microsoft.ML.Fff.Kinds;
using Microsoft.ML.Fff.Onnx;
using Microsoft.ML.Fff.Persistence;
using Microsoft.ML.Fff.Scoring;
using Microsoft.ML.Model.OnnxConverter;
using Microsoft.ML.Runtime;
using Microsoft.ML.Trainers;

[assembly: LoadableClass(typeof(FffBinaryModelParameters), null, typeof(SignatureLoadModel),
    "FFF binary classification model", FffBinaryModelParameters.LoaderSignature)]
[assembly: LoadableClass(typeof(FffMulticlassModelParameters), null, typeof(SignatureLoadModel),
    "FFF multiclass classification model", FffMulticlassModelParameters.LoaderSignature)]
[assembly: LoadableClass(typeof(FffRegressionModelParameters), null, typeof(SignatureLoadModel),
    "FFF regression model", FffRegressionModelParameters.LoaderSignature)]

namespace Microsoft.ML.Fff;

/// <summary>
/// Shared part of the model parameters of every architecture (FFF, dense, mixture of experts): the network, its shape,
/// persistence and the per-row scoring glue. Scoring is pure C#; no torch type is referenced on this path.
/// </summary>
/// <typeparam name="TOutput">The score type: <see cref="float"/> or a vector of <see cref="float"/>.</typeparam>
public abstract class FffModelParametersBase<TOutput> : ModelParametersBase<TOutput>, IValueMapper, IFffScoringModel, ISingleCanSaveOnnx
{
    private readonly DataViewType _inputType;

    private protected FffModelParametersBase(IHostEnvironment env, string name, FeedForwardNetwork network, FffTrainingReport? report)
        : base(env, name)
    {
        Network = network;
        TrainingReport = report;
        _inputType = new VectorDataViewType(NumberDataViewType.Single, network.InputCount);
    }

    private protected FffModelParametersBase(IHostEnvironment env, string name, ModelLoadContext ctx)
        : base(env, name, ctx)
    {
        try
        {
            // The network fills the rest of ML.NET's model block (the base class has read its sizeof(float) field).
            long blockEnd = ctx.FpMin + ctx.Header.FpModel + ctx.Header.CbModel;
            long byteCount = blockEnd - ctx.Reader.BaseStream.Position;
            Network = NetworkFormat.Load(ctx.Reader, byteCount, ctx.Header.ModelVerWritten);
        }
        catch (InvalidDataException e)
        {
            MarkCorrupt(e);
            throw;
        }
        _inputType = new VectorDataViewType(NumberDataViewType.Single, Network.InputCount);
    }

    /// <summary>Marks a corrupt-model exception as ML.NET marks its own (see <see cref="ModelFormat.Mark"/>).</summary>
    private protected static InvalidDataException MarkCorrupt(InvalidDataException e) => ModelFormat.Mark(e);

    /// <summary>The task's version record: <paramref name="modelSignature"/> in the shared format versions (<see cref="ModelFormat"/>).</summary>
    private protected static VersionInfo VersionInfoOf<TModel>(string modelSignature, string loaderSignature, uint written = ModelFormat.CurrentVersion)
        => ModelFormat.VersionInfo(modelSignature, loaderSignature, typeof(TModel).Assembly, written);

    /// <summary>Checks the stored signature and version (<see cref="ModelFormat.CheckVersion"/>) and reads the model.</summary>
    private protected static TModel LoadChecked<TModel>(IHostEnvironment env, ModelLoadContext ctx, VersionInfo supported, Func<IHostEnvironment, ModelLoadContext, TModel> read)
    {
        Contracts.CheckValue(env, nameof(env));
        env.CheckValue(ctx, nameof(ctx));
        ModelFormat.CheckVersion(ctx, supported);
        return read(env, ctx);
    }

    internal FeedForwardNetwork Network { get; }

    /// <summary>Number of feature slots the model expects.</summary>
    public int FeatureCount => Network.InputCount;

    /// <summary>The network architecture: FFF, dense or mixture of experts.</summary>
    public FffArchitecture Architecture => NetworkKinds.Of(Network).FamilyOf(Network);

    /// <summary>The network's shape in words, e.g. "FFF depth 6 x leaf 16".</summary>
    public string Description => Network.Describe();

    /// <summary>
    /// FFF only: depth of the node tree (with leaves, a row passes through this many node neurons; with neuron nodes, through
    /// <c>Depth + 1</c> neurons in each tree); 0 for other architectures.
    /// </summary>
    public int Depth => NetworkKinds.Of(Network).Depth(Network);

    /// <summary>FFF with leaves only: neurons in each leaf; 0 for other architectures and for neuron-node FFF.</summary>
    public int LeafWidth => NetworkKinds.Of(Network).LeafWidth(Network);

    /// <summary>Hidden neurons trained, all of them (FFF: <c>2^Depth * LeafWidth</c> plus the master leaf).</summary>
    public int TrainingWidth => Network.TrainingWidth;

    /// <summary>Neurons evaluated per scored row (FFF: <c>Depth + LeafWidth</c> plus the master leaf; dense: every hidden neuron).</summary>
    public int NeuronsPerRow => Network.NeuronsPerRow;

    /// <summary>What happened during training (losses, metrics, soft/hard gap); <c>null</c> for a model loaded from a file.</summary>
    public FffTrainingReport? TrainingReport { get; }

    DataViewType IValueMapper.InputType => _inputType;

    DataViewType IValueMapper.OutputType => OutputType;

    private protected abstract DataViewType OutputType { get; }

    /// <summary>The task's version record with <paramref name="written"/> as the written and readable format.</summary>
    private protected abstract VersionInfo VersionInfoFor(uint written);

    ValueMapper<TIn, TOut> IValueMapper.GetMapper<TIn, TOut>()
    {
        Host.Check(typeof(TIn) == typeof(VBuffer<float>), "FFF models take a vector of Single as input.");
        Host.Check(typeof(TOut) == typeof(TOutput), "Unexpected output type requested from an FFF model.");
        return (ValueMapper<TIn, TOut>)(Delegate)MakeMapper();
    }

    private protected abstract ValueMapper<VBuffer<float>, TOutput> MakeMapper();

    /// <summary>Number of score values per row: 1 for binary classification and regression, the class count for multiclass.</summary>
    public int OutputCount => Network.OutputCount;

    /// <summary>
    /// Scores a batch of dense rows by hard descent, without ML.NET in the loop: for services that batch their own requests.
    /// </summary>
    /// <remarks>
    /// <para>
    /// This is the fastest way to score many rows. FFF models route every row and then compute the rows that reach the
    /// same leaf together (one blocked matrix multiply per leaf), mixture-of-experts models group rows by chosen expert,
    /// and dense models run blocked matrix multiplies; batches of a few hundred rows or more are split over the cores.
    /// </para>
    /// <para>
    /// Each row's scores are exactly the values of the <c>Score</c> column that <c>Transform</c> or a <c>PredictionEngine</c>
    /// produces for the same features, bit for bit: the logit for binary classification (the probability is its sigmoid),
    /// the class probabilities (softmax) for multiclass classification, whose largest entry at index <c>k</c> is the
    /// PredictedLabel key <c>k + 1</c>, and the predicted value for regression. Scores do not depend on the batch size, on
    /// where a row sits in the batch or on the calling thread; they can differ in the last bits on a CPU with other SIMD
    /// instructions (see docs/reliability-concurrency-determinism.md in the repository).
    /// </para>
    /// <para>
    /// Thread safety: the method is stateless and only reads the model's weights, which never change after training or
    /// loading, so any number of threads may call it at the same time on one instance, each with its own spans. It allocates
    /// nothing once a thread has scored its first batch of a given size, except that a large batch is split over threads
    /// (<c>Parallel.For</c>), which allocates a little per call. The two spans must not overlap.
    /// </para>
    /// <para>
    /// NaN: a NaN feature makes every score of its row NaN (the row cannot be routed); other rows are unaffected. Infinite
    /// features are not rejected either; they usually give NaN or infinite scores. Nothing is validated per row, so check
    /// the inputs first when they come from outside.
    /// </para>
    /// </remarks>
    /// <param name="features">Row-major features: <c>rowCount * FeatureCount</c> values, row <c>r</c> at
    /// <c>[r * FeatureCount, (r + 1) * FeatureCount)</c>.</param>
    /// <param name="scores">Receives <c>rowCount * OutputCount</c> values, row <c>r</c> at <c>[r * OutputCount, (r + 1) * OutputCount)</c>.</param>
    /// <exception cref="ArgumentException">The length of <paramref name="features"/> is not a multiple of <see cref="FeatureCount"/>,
    /// the length of <paramref name="scores"/> is not <c>rowCount * OutputCount</c>, or the spans overlap.</exception>
    public void ScoreBatch(ReadOnlySpan<float> features, Span<float> scores)
    {
        int inputs = Network.InputCount, outputs = Network.OutputCount;
        if (features.Length % inputs != 0)
        {
            throw new ArgumentException(
                $"The features hold {features.Length} values, which is not a whole number of rows of {inputs} values (FeatureCount).", nameof(features));
        }
        int rows = features.Length / inputs;
        long needed = (long)rows * outputs;
        if (scores.Length != needed)
        {
            throw new ArgumentException(
                $"The scores hold {scores.Length} values but {rows} rows need {needed} ({rows} rows x OutputCount {outputs}).", nameof(scores));
        }
        if (features.Overlaps(scores))
            throw new ArgumentException("The scores must not overlap the features.", nameof(scores));
        Network.ScoreBatch(features, rows, scores);
        for (int row = 0; row < rows; row++)
            ToScores(scores.Slice(row * outputs, outputs));
    }

    /// <summary>
    /// Turns the network's raw outputs of one row into the task's Score column values, in place. The only place where
    /// the per-task post-processing lives: the ML.NET mappers and <see cref="ScoreBatch"/> both go through it.
    /// </summary>
    private protected abstract void ToScores(Span<float> outputs);

    FeedForwardNetwork IFffScoringModel.Network => Network;

    void IFffScoringModel.ScoreRow(in VBuffer<float> features, Span<float> scores) => ScoreRow(features, scores);

    /// <summary>Hard-descent scoring of one row into <paramref name="scores"/> (length = <see cref="OutputCount"/>): the Score column values.</summary>
    private protected void ScoreRow(in VBuffer<float> features, Span<float> scores)
    {
        if (features.Length != Network.InputCount)
        {
            throw Host.Except(
                $"The feature vector has {features.Length} slots but this model was trained on {Network.InputCount}; score with the same featurization as in training.");
        }
        ReadOnlySpan<float> values = features.GetValues();
        if (features.IsDense)
        {
            Network.Score(values, scores);
        }
        else
        {
            ReadOnlySpan<int> indices = features.GetIndices();
            Kernels.CheckSparseIndices(indices, features.Length, "Features");
            if (features.Length <= MaxScatteredInputs && (features.Length <= 32 || 16 * indices.Length >= features.Length))
            {
                // A narrow sparse row (a table's one-hot slots) is scattered into a zeroed stack row and scored by the dense
                // kernels: the sparse path pays a gather per stored value and a call per hidden unit, which made such a row about
                // twice as slow as the same row dense (cps1988, 12 slots, 6 stored: 140 -> 82 ns). Below one stored value in 16
                // the sparse path is faster (a 256-slot row with 13 stored: 190 against 331 ns). Scores can differ from the
                // sparse path's in the last bits (another order of additions); every scorer of the model, batches included,
                // sends sparse rows here.
                Span<float> row = stackalloc float[MaxScatteredInputs];
                row = row.Slice(0, features.Length);
                row.Clear();
                for (int k = 0; k < indices.Length; k++)
                    row[indices[k]] = values[k];
                Network.Score(row, scores);
            }
            else
            {
                Network.Score(indices, values, scores);
            }
        }
        ToScores(scores);
    }

    /// <summary>
    /// The widest sparse row that <see cref="ScoreRow"/> may score as a dense one (4 KB of stack). Wider rows (text n-grams,
    /// thousands of slots with a few stored) keep the sparse kernels, whose cost follows the stored values, not the width.
    /// </summary>
    private const int MaxScatteredInputs = 1024;

    /// <summary>The mapper of single-output models: the row's one score.</summary>
    private protected ValueMapper<VBuffer<float>, float> MakeScalarMapper() => (in VBuffer<float> src, ref float dst) =>
    {
        Span<float> score = stackalloc float[1];
        ScoreRow(src, score);
        dst = score[0];
    };

    // ONNX export through mlContext.Model.ConvertToOnnx: every network kind and task (Onnx/FffOnnxExport.cs, docs/onnx.md).
    bool ICanSaveOnnx.CanSaveOnnx(OnnxContext ctx) => true;

    bool ISingleCanSaveOnnx.SaveAsOnnx(OnnxContext ctx, string[] outputNames, string featureColumn)
        => FffOnnxExport.Save(ctx, Network, PredictionKind, outputNames, featureColumn);

    /// <summary>Writes the network after ML.NET's own header (see <see cref="NetworkFormat"/> for the binary format).</summary>
    protected override void SaveCore(ModelSaveContext ctx)
    {
        base.SaveCore(ctx);
        // A network read from a file older than the narrow kernels keeps that file's kernels (and scores): it is written in
        // the last format that means them.
        ctx.SetVersionInfo(VersionInfoFor(Network.HasLegacyKernels ? ModelFormat.ThirdVersion : ModelFormat.CurrentVersion));
        NetworkFormat.Save(Network, ctx.Writer);
    }
}

/// <summary>Model parameters of the binary classification trainers (FFF, dense, mixture of experts): the score is a logit, the probability its sigmoid.</summary>
public sealed class FffBinaryModelParameters : FffModelParametersBase<float>, IValueMapperDist
{
    internal const string LoaderSignature = "FffBinaryModel";
    private const string RegistrationName = "FffBinaryPredictor";

    internal FffBinaryModelParameters(IHostEnvironment env, FeedForwardNetwork network, FffTrainingReport? report)
        : base(env, RegistrationName, network, report)
    {
        Host.Check(network.OutputCount == 1, "A binary FFF model has one output.");
    }

    private FffBinaryModelParameters(IHostEnvironment env, ModelLoadContext ctx)
        : base(env, RegistrationName, ctx)
    {
        if (Network.OutputCount != 1)
            throw MarkCorrupt(ModelFormat.Corrupt($"a binary model has 1 output but this one declares {Network.OutputCount}."));
    }

    private static VersionInfo GetVersionInfo(uint written = ModelFormat.CurrentVersion) => VersionInfoOf<FffBinaryModelParameters>("FFFBINMP", LoaderSignature, written);

    internal static FffBinaryModelParameters Create(IHostEnvironment env, ModelLoadContext ctx)
        => LoadChecked(env, ctx, GetVersionInfo(), (e, c) => new FffBinaryModelParameters(e, c));

    private protected override VersionInfo VersionInfoFor(uint written) => GetVersionInfo(written);

    /// <summary>The ML.NET task this model serves.</summary>
    protected override PredictionKind PredictionKind => PredictionKind.BinaryClassification;

    private protected override DataViewType OutputType => NumberDataViewType.Single;

    DataViewType IValueMapperDist.DistType => NumberDataViewType.Single;

    /// <summary>The score is the raw output, a logit (no calibrator: the probability is its sigmoid).</summary>
    private protected override void ToScores(Span<float> outputs)
    {
    }

    private protected override ValueMapper<VBuffer<float>, float> MakeMapper() => MakeScalarMapper();

    ValueMapper<TIn, TOut, TDist> IValueMapperDist.GetMapper<TIn, TOut, TDist>()
    {
        Host.Check(typeof(TIn) == typeof(VBuffer<float>) && typeof(TOut) == typeof(float) && typeof(TDist) == typeof(float),
            "Unexpected types requested from an FFF binary model.");
        ValueMapper<VBuffer<float>, float, float> mapper = (in VBuffer<float> src, ref float score, ref float probability) =>
        {
            Span<float> output = stackalloc float[1];
            ScoreRow(src, output);
            score = output[0];
            probability = Kernels.Sigmoid(score);
        };
        return (ValueMapper<TIn, TOut, TDist>)(Delegate)mapper;
    }
}

/// <summary>Model parameters of the multiclass classification trainers (FFF, dense, mixture of experts): the score is the vector of class probabilities (softmax).</summary>
public sealed class FffMulticlassModelParameters : FffModelParametersBase<VBuffer<float>>
{
    internal const string LoaderSignature = "FffMulticlassModel";
    private const string RegistrationName = "FffMulticlassPredictor";
    private readonly VectorDataViewType _outputType;

    internal FffMulticlassModelParameters(IHostEnvironment env, FeedForwardNetwork network, FffTrainingReport? report)
        : base(env, RegistrationName, network, report)
    {
        _outputType = new VectorDataViewType(NumberDataViewType.Single, network.OutputCount);
    }

    private FffMulticlassModelParameters(IHostEnvironment env, ModelLoadContext ctx)
        : base(env, RegistrationName, ctx)
    {
        if (Network.OutputCount < 2)
            throw MarkCorrupt(ModelFormat.Corrupt($"a multiclass model has at least 2 classes but this one declares {Network.OutputCount}."));
        _outputType = new VectorDataViewType(NumberDataViewType.Single, Network.OutputCount);
    }

    private static VersionInfo GetVersionInfo(uint written = ModelFormat.CurrentVersion) => VersionInfoOf<FffMulticlassModelParameters>("FFFMCLMP", LoaderSignature, written);

    internal static FffMulticlassModelParameters Create(IHostEnvironment env, ModelLoadContext ctx)
        => LoadChecked(env, ctx, GetVersionInfo(), (e, c) => new FffMulticlassModelParameters(e, c));

    /// <summary>Number of classes.</summary>
    public int ClassCount => Network.OutputCount;

    private protected override VersionInfo VersionInfoFor(uint written) => GetVersionInfo(written);

    /// <summary>The ML.NET task this model serves.</summary>
    protected override PredictionKind PredictionKind => PredictionKind.MulticlassClassification;

    private protected override DataViewType OutputType => _outputType;

    private protected override ValueMapper<VBuffer<float>, VBuffer<float>> MakeMapper()
    {
        int classes = Network.OutputCount;
        return (in VBuffer<float> src, ref VBuffer<float> dst) =>
        {
            var editor = VBufferEditor.Create(ref dst, classes);
            ScoreRow(src, editor.Values);
            dst = editor.Commit();
        };
    }

    /// <summary>The scores are the class probabilities: the softmax of the raw outputs (all NaN when any output is NaN).</summary>
    private protected override void ToScores(Span<float> outputs) => Kernels.SoftMax(outputs);
}

/// <summary>Model parameters of the regression trainers (FFF, dense, mixture of experts): the score is the predicted value.</summary>
public sealed class FffRegressionModelParameters : FffModelParametersBase<float>
{
    internal const string LoaderSignature = "FffRegressionModel";
    private const string RegistrationName = "FffRegressionPredictor";

    internal FffRegressionModelParameters(IHostEnvironment env, FeedForwardNetwork network, FffTrainingReport? report)
        : base(env, RegistrationName, network, report)
    {
        Host.Check(network.OutputCount == 1, "A regression FFF model has one output.");
    }

    private FffRegressionModelParameters(IHostEnvironment env, ModelLoadContext ctx)
        : base(env, RegistrationName, ctx)
    {
        if (Network.OutputCount != 1)
            throw MarkCorrupt(ModelFormat.Corrupt($"a regression model has 1 output but this one declares {Network.OutputCount}."));
    }

    private static VersionInfo GetVersionInfo(uint written = ModelFormat.CurrentVersion) => VersionInfoOf<FffRegressionModelParameters>("FFFREGMP", LoaderSignature, written);

    internal static FffRegressionModelParameters Create(IHostEnvironment env, ModelLoadContext ctx)
        => LoadChecked(env, ctx, GetVersionInfo(), (e, c) => new FffRegressionModelParameters(e, c));

    private protected override VersionInfo VersionInfoFor(uint written) => GetVersionInfo(written);

    /// <summary>The ML.NET task this model serves.</summary>
    protected override PredictionKind PredictionKind => PredictionKind.Regression;

    private protected override DataViewType OutputType => NumberDataViewType.Single;

    /// <summary>The score is the raw output, already on the label's scale (the label standardization is folded into the weights).</summary>
    private protected override void ToScores(Span<float> outputs)
    {
    }

    private protected override ValueMapper<VBuffer<float>, float> MakeMapper() => MakeScalarMapper();
}
