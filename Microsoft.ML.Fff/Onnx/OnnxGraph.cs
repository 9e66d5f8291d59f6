using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Model.OnnxConverter;

namespace Microsoft.ML.Fff.Onnx;

/// <summary>
/// A thin typed layer over ML.NET's <see cref="OnnxContext"/> for the network exporters: every call adds one standard ONNX
/// operator (default domain, semantics of opsets 11 and 12) or one initializer and returns the name of its output.
/// Intermediate names get the <c>Fff</c> prefix so they cannot shadow a pipeline column (ML.NET's context maps every
/// intermediate name to a column name).
/// </summary>
internal sealed class OnnxGraph
{
    private readonly OnnxContext _ctx;

    public OnnxGraph(OnnxContext ctx) => _ctx = ctx;

    /// <summary>A fresh intermediate variable name (not declared as a graph value, so the runtime infers its shape).</summary>
    private string Fresh(string name) => _ctx.AddIntermediateVariable(null, "Fff" + name, skip: true);

    /// <summary>Adds a node with the given inputs writing to <paramref name="output"/> (a fresh name when null); returns the output.</summary>
    public string Node(string op, IEnumerable<string> inputs, string? output = null, Action<OnnxNode>? attributes = null)
    {
        output ??= Fresh(op);
        OnnxNode node = _ctx.CreateNode(op, inputs, new[] { output }, _ctx.GetNodeName("Fff" + op), "");
        attributes?.Invoke(node);
        return output;
    }

    /// <summary>A node with several outputs (fresh names), e.g. TopK's values and indices.</summary>
    public string[] Node(string op, IEnumerable<string> inputs, int outputCount, Action<OnnxNode>? attributes = null)
    {
        string[] outputs = Enumerable.Range(0, outputCount).Select(i => Fresh(op + i)).ToArray();
        OnnxNode node = _ctx.CreateNode(op, inputs, outputs, _ctx.GetNodeName("Fff" + op), "");
        attributes?.Invoke(node);
        return outputs;
    }

    /// <summary>A float tensor initializer.</summary>
    public string Floats(string name, float[] values, params long[] dims)
    {
        if (values.LongLength != dims.Aggregate(1L, (a, b) => a * b))
            throw new ArgumentException($"Initializer '{name}' holds {values.Length} values, not the {string.Join(" x ", dims)} of its shape.", nameof(values));
        return _ctx.AddInitializer(values, dims, "Fff" + name);
    }

    /// <summary>A float tensor of shape [1] (broadcasts against any tensor).</summary>
    public string Scalar(string name, float value) => Floats(name, new[] { value }, 1);

    /// <summary>An int64 tensor initializer.</summary>
    public string Longs(string name, long[] values, params long[] dims) => _ctx.AddInitializer(values, dims, "Fff" + name);

    public string Add(string a, string b, string? output = null) => Node("Add", new[] { a, b }, output);

    public string Sub(string a, string b) => Node("Sub", new[] { a, b });

    public string Mul(string a, string b) => Node("Mul", new[] { a, b });

    public string MatMul(string a, string b) => Node("MatMul", new[] { a, b });

    public string Relu(string x) => Node("Relu", new[] { x });

    public string Tanh(string x) => Node("Tanh", new[] { x });

    public string Sigmoid(string x, string? output = null) => Node("Sigmoid", new[] { x }, output);

    public string Identity(string x, string output) => Node("Identity", new[] { x }, output);

    /// <summary><c>x W^T + b</c> for a row-major <c>[units, fanIn]</c> weight initializer and a <c>[units]</c> bias.</summary>
    public string Linear(string x, string weights, string bias)
        => Node("Gemm", new[] { x, weights, bias }, attributes: n => n.AddAttribute("transB", 1L));

    /// <summary><c>x W + b</c> for a row-major <c>[fanIn, units]</c> weight initializer and a <c>[units]</c> bias.</summary>
    public string Affine(string x, string weights, string bias) => Node("Gemm", new[] { x, weights, bias });

    /// <summary>Rows of <paramref name="data"/> picked by the int64 <paramref name="indices"/> (Gather on axis 0).</summary>
    public string Gather(string data, string indices) => Node("Gather", new[] { data, indices }, attributes: n => n.AddAttribute("axis", 0L));

    /// <summary>Sum over <paramref name="axes"/>, dropping them (ReduceSum with the axes attribute: opsets up to 12).</summary>
    public string ReduceSum(string x, params long[] axes)
        => Node("ReduceSum", new[] { x }, attributes: n => { n.AddAttribute("axes", axes); n.AddAttribute("keepdims", 0L); });

    /// <summary>Sum over <paramref name="axes"/>, keeping them as size 1.</summary>
    public string ReduceSumKeep(string x, params long[] axes)
        => Node("ReduceSum", new[] { x }, attributes: n => { n.AddAttribute("axes", axes); n.AddAttribute("keepdims", 1L); });

    /// <summary>Unsqueeze with the axes attribute (opsets up to 12).</summary>
    public string Unsqueeze(string x, params long[] axes) => Node("Unsqueeze", new[] { x }, attributes: n => n.AddAttribute("axes", axes));

    /// <summary>Squeeze with the axes attribute (opsets up to 12).</summary>
    public string Squeeze(string x, params long[] axes) => Node("Squeeze", new[] { x }, attributes: n => n.AddAttribute("axes", axes));

    public string Cast(string x, Type to, string? output = null) => Node("Cast", new[] { x }, output, n => n.AddAttribute("to", to));

    /// <summary>1 (int64) where <c>z &gt;= 0</c>, else 0: <c>Not(Less(z, 0))</c>, since GreaterOrEqual needs opset 12.</summary>
    public string AtLeastZero(string z, string zero) => Cast(Node("Not", new[] { Node("Less", new[] { z, zero }) }), typeof(long));

    /// <summary>1 (int64) where <c>z &gt; 0</c>, else 0.</summary>
    public string AboveZero(string z, string zero) => Cast(Node("Greater", new[] { z, zero }), typeof(long));

    /// <summary>
    /// GELU, tanh approximation, as <c>0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))</c>: the formula of the C# scorers
    /// (the Gelu operator needs opset 20, beyond ML.NET's converter).
    /// </summary>
    public string Gelu(string z)
    {
        string cube = Mul(Mul(z, z), z);
        string inner = Mul(Add(z, Mul(cube, Scalar("GeluCubic", 0.044715f))), Scalar("GeluScale", 0.7978845608028654f));
        string tanhPlusOne = Add(Tanh(inner), Scalar("One", 1f));
        return Mul(Mul(z, tanhPlusOne), Scalar("Half", 0.5f));
    }
}
