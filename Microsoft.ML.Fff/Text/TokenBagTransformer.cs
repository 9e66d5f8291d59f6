using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Fff.Onnx;
using Microsoft.ML.Fff.Text;
using Microsoft.ML.Model.OnnxConverter;
using Microsoft.ML.Runtime;
using Microsoft.ML.Tokenizers;

[assembly: LoadableClass(TokenBagTransformer.Summary, typeof(TokenBagTransformer), null, typeof(SignatureLoadModel),
    TokenBagTransformer.UserName, TokenBagTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(TokenBagTransformer), null, typeof(SignatureLoadRowMapper),
    TokenBagTransformer.UserName, TokenBagTransformer.LoaderSignature)]

namespace Microsoft.ML.Fff.Text;

/// <summary>
/// Turns a text column into a mean bag of tokens: the text is split into tokens by Tiktoken (the <c>cl100k_base</c>
/// vocabulary of <c>Microsoft.ML.Tokenizers</c>), every token the vocabulary built at <c>Fit</c> knows becomes one slot, and
/// the output is a sparse, known-size <see cref="float"/> vector whose slot holds <c>count / known tokens in the row</c>
/// (the values sum to 1; a row without known tokens is all zeros). Unknown tokens are dropped. Made by
/// <c>mlContext.Fff().TokenizeToBag(...)</c>; saves with <c>mlContext.Model.Save</c> and loads on a fresh <c>MLContext</c>.
/// </summary>
/// <remarks>
/// Feeding this vector to a FastFeedForward trainer with <c>EmbeddingDimension</c> &gt; 0 gives a text model that learns its
/// own token embeddings (the mean embedding bag). Tokenization allocates per row (the tokenizer's id list); the vector is
/// written into the caller's buffer.
/// </remarks>
public sealed class TokenBagTransformer : OneToOneTransformerBase
{
    internal const string Summary = "Tokenizes text with Tiktoken and writes the mean bag of the known tokens.";
    internal const string UserName = "FFF token bag";
    internal const string LoaderSignature = "FffTokenBag";

    /// <summary>The only tokenizer so far; its code is stored in the model.</summary>
    private const int Cl100kBaseCode = 0;
    internal const string EncodingName = "cl100k_base";

    /// <summary>Largest vocabulary a stored transformer may declare (Tiktoken cl100k_base has about 100,000 tokens).</summary>
    internal const int MaxVocabulary = 1 << 24;

    private static readonly Lazy<(Tokenizer Tokenizer, int IdLimit)> s_cl100kBase = new(CreateTokenizer);

    private readonly int[] _tokenIds;
    private readonly int[] _slotOfToken;

    internal TokenBagTransformer(IHostEnvironment env, string outputColumnName, string inputColumnName, bool lowerCase, int[] tokenIds)
        : base(Contracts.CheckRef(env, nameof(env)).Register(nameof(TokenBagTransformer)), (outputColumnName, inputColumnName))
    {
        LowerCase = lowerCase;
        _tokenIds = tokenIds;
        _slotOfToken = SlotMap(tokenIds);
    }

    private TokenBagTransformer(IHost host, ModelLoadContext ctx)
        : base(host, ctx)
    {
        // *** Binary format *** (after OneToOneTransformerBase's column pairs: int32 count = 1, then the output and input
        // column names as string ids)
        // int32  tokenizer code             (0 = Tiktoken cl100k_base; the only value so far)
        // byte   lower case                 (0 or 1: text lower-cased, invariant culture, before tokenizing)
        // int32  vocabulary size V          (1 .. 2^24)
        // int32[V] tokenizer ids of slots 0 .. V-1, strictly increasing, each below the tokenizer's id limit
        // Version history: 0x00010001 initial.
        if (ColumnPairs.Length != 1)
            throw Corrupt($"it declares {ColumnPairs.Length} column pairs where exactly 1 is stored.");
        int code = ReadInt32(ctx.Reader);
        if (code != Cl100kBaseCode)
            throw Corrupt($"unknown tokenizer code {code}.");
        byte lowerCase = ReadByte(ctx.Reader);
        if (lowerCase > 1)
            throw Corrupt($"the lower-case flag is {lowerCase}, not 0 or 1.");
        LowerCase = lowerCase == 1;
        int size = ReadInt32(ctx.Reader);
        int limit = s_cl100kBase.Value.IdLimit;
        if (size < 1 || size > Math.Min(MaxVocabulary, limit))
            throw Corrupt($"vocabulary size {size} is out of range (1 .. {limit}).");
        Stream stream = ctx.Reader.BaseStream;
        if (stream.CanSeek && stream.Length - stream.Position < (long)size * sizeof(int))
            throw Corrupt($"the file ends before the {size} token ids (truncated?).");
        _tokenIds = new int[size];
        for (int i = 0; i < size; i++)
        {
            int id = ReadInt32(ctx.Reader);
            if (id < 0 || id >= limit || (i > 0 && id <= _tokenIds[i - 1]))
                throw Corrupt($"token id {id} in slot {i} is out of range (0 .. {limit - 1}) or not above the previous one.");
            _tokenIds[i] = id;
        }
        _slotOfToken = SlotMap(_tokenIds);
    }

    /// <summary>Input text column.</summary>
    public string InputColumnName => ColumnPairs[0].inputColumnName;

    /// <summary>Output vector column.</summary>
    public string OutputColumnName => ColumnPairs[0].outputColumnName;

    /// <summary>Slots of the output vector: the tokens kept at <c>Fit</c>.</summary>
    public int VocabularySize => _tokenIds.Length;

    /// <summary>Whether the text is lower-cased (invariant culture) before it is tokenized.</summary>
    public bool LowerCase { get; }

    /// <summary>The Tiktoken (<c>cl100k_base</c>) id of each output slot, increasing.</summary>
    public IReadOnlyList<int> TokenIds => _tokenIds;

    /// <summary>The Tiktoken tokenizer every token bag uses, created once per process.</summary>
    internal static Tokenizer Tokenizer => s_cl100kBase.Value.Tokenizer;

    /// <summary>One more than the largest id the tokenizer produces.</summary>
    internal static int TokenIdLimit => s_cl100kBase.Value.IdLimit;

    private static (Tokenizer Tokenizer, int IdLimit) CreateTokenizer()
    {
        TiktokenTokenizer tokenizer = TiktokenTokenizer.CreateForEncoding(EncodingName);
        // cl100k_base's special tokens (<|endoftext|> 100257 .. <|endofprompt|> 100276) have the highest ids; its 100,256 byte-pair
        // tokens are 0 .. 100255. Fit and Bag still check every id against this limit.
        int limit = tokenizer.SpecialTokens is { Count: > 0 } special ? special.Values.Max() + 1 : 100_256;
        return (tokenizer, limit);
    }

    /// <summary>Tokenizer id → slot (-1 for tokens outside the vocabulary), over ids up to the largest kept.</summary>
    private static int[] SlotMap(int[] tokenIds)
    {
        var map = new int[tokenIds[^1] + 1];
        Array.Fill(map, -1);
        for (int slot = 0; slot < tokenIds.Length; slot++)
            map[tokenIds[slot]] = slot;
        return map;
    }

    /// <summary>The tokenizer ids of <paramref name="text"/> (lower-cased first when asked), using <paramref name="lowered"/> as scratch.</summary>
    internal static IReadOnlyList<int> Encode(ReadOnlySpan<char> text, bool lowerCase, ref char[] lowered)
    {
        if (lowerCase)
        {
            if (lowered.Length < text.Length)
                lowered = new char[Math.Max(text.Length, 2 * lowered.Length)];
            int length = text.ToLowerInvariant(lowered);
            text = lowered.AsSpan(0, length);
        }
        return Tokenizer.EncodeToIds(text);
    }

    /// <summary>Writes the mean bag of the known tokens of one row into <paramref name="destination"/> (sparse).</summary>
    private void Bag(ReadOnlySpan<char> text, ref char[] lowered, ref int[] slots, ref VBuffer<float> destination)
    {
        IReadOnlyList<int> ids = text.IsEmpty ? Array.Empty<int>() : Encode(text, LowerCase, ref lowered);
        if (slots.Length < ids.Count)
            slots = new int[Math.Max(ids.Count, 2 * slots.Length)];
        int known = 0;
        int[] map = _slotOfToken;
        for (int i = 0; i < ids.Count; i++)
        {
            int id = ids[i];
            if ((uint)id < (uint)map.Length && map[id] >= 0)
                slots[known++] = map[id];
        }
        Span<int> kept = slots.AsSpan(0, known);
        kept.Sort();
        int distinct = 0;
        for (int i = 0; i < known; i++)
        {
            if (i == 0 || kept[i] != kept[i - 1])
                distinct++;
        }
        var editor = VBufferEditor.Create(ref destination, _tokenIds.Length, distinct);
        int at = -1;
        for (int i = 0; i < known; i++)
        {
            if (i == 0 || kept[i] != kept[i - 1])
            {
                at++;
                editor.Indices[at] = kept[i];
                editor.Values[at] = 0;
            }
            editor.Values[at] += 1;
        }
        for (int k = 0; k < distinct; k++)
            editor.Values[k] /= known;
        destination = editor.Commit();
    }

    /// <summary>The slot names: each kept token decoded to text (" loved", "!", ...).</summary>
    private void GetSlotNames(ref VBuffer<ReadOnlyMemory<char>> names)
    {
        var editor = VBufferEditor.Create(ref names, _tokenIds.Length);
        var one = new int[1];
        for (int slot = 0; slot < _tokenIds.Length; slot++)
        {
            one[0] = _tokenIds[slot];
            editor.Values[slot] = (Tokenizer.Decode(one) ?? "").AsMemory();
        }
        names = editor.Commit();
    }

    private static VersionInfo GetVersionInfo() => new VersionInfo(
        modelSignature: "FFFTOKBG",
        verWrittenCur: 0x00010001, // initial
        verReadableCur: 0x00010001,
        verWeCanReadBack: 0x00010001,
        loaderSignature: LoaderSignature,
        loaderAssemblyName: typeof(TokenBagTransformer).Assembly.FullName);

    /// <summary>The loader ML.NET calls for <c>Model.Load</c>.</summary>
    internal static TokenBagTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        Contracts.CheckValue(env, nameof(env));
        IHost host = env.Register(nameof(TokenBagTransformer));
        host.CheckValue(ctx, nameof(ctx));
        ctx.CheckAtModel(GetVersionInfo());
        return new TokenBagTransformer(host, ctx);
    }

    /// <summary>The loader of the row mapper (a saved transformed data view).</summary>
    internal static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
        => Create(env, ctx).MakeRowMapper(inputSchema);

    /// <summary>Writes the columns, the tokenizer and the vocabulary (binary format in the load constructor).</summary>
    protected override void SaveModel(ModelSaveContext ctx)
    {
        Host.CheckValue(ctx, nameof(ctx));
        ctx.CheckAtModel();
        ctx.SetVersionInfo(GetVersionInfo());
        SaveColumns(ctx);
        ctx.Writer.Write(Cl100kBaseCode);
        ctx.Writer.Write((byte)(LowerCase ? 1 : 0));
        ctx.Writer.Write(_tokenIds.Length);
        foreach (int id in _tokenIds)
            ctx.Writer.Write(id);
    }

    /// <summary>Rejects, naming the column, an input column that is not text.</summary>
    protected override void CheckInputColumn(DataViewSchema inputSchema, int col, int srcCol)
        => CheckTextColumn(inputSchema[srcCol].Name, inputSchema[srcCol].Type);

    /// <summary>Throws, naming the column, unless <paramref name="type"/> is scalar text.</summary>
    internal static void CheckTextColumn(string name, DataViewType type)
    {
        if (type is not TextDataViewType)
        {
            throw new ArgumentOutOfRangeException("inputSchema",
                $"Column '{name}' is {type}, but the token bag needs a String (text) column; convert it or pick the text column.");
        }
    }

    /// <summary>The row mapper that writes the token bag.</summary>
    protected override IRowMapper MakeRowMapper(DataViewSchema schema) => new Mapper(this, schema);

    private static InvalidDataException Corrupt(string problem)
        => Contracts.Mark(new InvalidDataException("Corrupt FFF token-bag transformer: " + problem));

    private static int ReadInt32(BinaryReader reader)
    {
        try
        {
            return reader.ReadInt32();
        }
        catch (EndOfStreamException e)
        {
            throw Contracts.Mark(new InvalidDataException("Corrupt FFF token-bag transformer: the file ends early (truncated?).", e));
        }
    }

    private static byte ReadByte(BinaryReader reader)
    {
        try
        {
            return reader.ReadByte();
        }
        catch (EndOfStreamException e)
        {
            throw Contracts.Mark(new InvalidDataException("Corrupt FFF token-bag transformer: the file ends early (truncated?).", e));
        }
    }

    private sealed class Mapper : OneToOneMapperBase, ISaveAsOnnx
    {
        private readonly TokenBagTransformer _transformer;

        public Mapper(TokenBagTransformer parent, DataViewSchema inputSchema)
            : base(parent.Host.Register(nameof(Mapper)), parent, inputSchema)
        {
            _transformer = parent;
        }

        // Not exportable: taking part in ONNX export only to name this step in a NotSupportedException (docs/onnx.md).
        bool ICanSaveOnnx.CanSaveOnnx(OnnxContext ctx) => true;

        void ISaveAsOnnx.SaveAsOnnx(OnnxContext ctx) => throw UnsupportedOnnxSteps.TokenBag(_transformer.OutputColumnName, _transformer.InputColumnName);

        /// <summary>The vector column, with slot names: each slot's token as text (decoded when first asked for).</summary>
        protected override DataViewSchema.DetachedColumn[] GetOutputColumnsCore()
        {
            var annotations = new DataViewSchema.Annotations.Builder();
            annotations.AddSlotNames(_transformer.VocabularySize, _transformer.GetSlotNames);
            return new[]
            {
                new DataViewSchema.DetachedColumn(_transformer.OutputColumnName,
                    new VectorDataViewType(NumberDataViewType.Single, _transformer.VocabularySize), annotations.ToAnnotations()),
            };
        }

        protected override Delegate MakeGetter(DataViewRow input, int iinfo, Func<int, bool> activeOutput, out Action? disposer)
        {
            disposer = null;
            ValueGetter<ReadOnlyMemory<char>> getText = input.GetGetter<ReadOnlyMemory<char>>(input.Schema[ColMapNewToOld[iinfo]]);
            ReadOnlyMemory<char> text = default;
            char[] lowered = Array.Empty<char>();
            int[] slots = Array.Empty<int>();
            ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> destination) =>
            {
                getText(ref text);
                _transformer.Bag(text.Span, ref lowered, ref slots, ref destination);
            };
            return getter;
        }
    }
}
