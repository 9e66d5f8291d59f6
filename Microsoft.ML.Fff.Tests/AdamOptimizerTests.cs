using System;
using System.Linq;
using Microsoft.ML.Fff.Training;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Fff.Tests;

[TestClass]
public sealed class AdamOptimizerTests
{
    [TestMethod]
    public void StepsEveryParameterThroughTheFlatBuffers_AndGradientsAccumulateInPlace()
    {
        // Parameters of odd sizes, so they straddle the flat buffers' vector lanes. Adam's first step moves every value by
        // the learning rate against its gradient's sign; a gradient that backward wrote somewhere other than the flat buffer
        // would leave its parameter where it was.
        long[][] shapes = { new long[] { 3, 5 }, new long[] { 7 }, new long[] { 2, 3, 1 } };
        Parameter[] parameters = shapes.Select((s, i) => new Parameter(arange(s.Aggregate(1L, (a, b) => a * b), dtype: ScalarType.Float32).view(s).add(i))).ToArray();
        float[][] before = parameters.Select(p => p.data<float>().ToArray()).ToArray();
        using var optimizer = new AdamOptimizer(parameters, FffOptimizer.Adam, weightDecay: 0) { LearningRate = 0.01 };

        for (int step = 0; step < 2; step++)
        {
            optimizer.ZeroGrad();
            using (var scope = NewDisposeScope())
            {
                // d/dp of sum(p * w) is w: +1 for the first parameter's values, -1 for the others'.
                Tensor loss = parameters[0].sum().sub(parameters[1].sum()).sub(parameters[2].sum());
                loss.backward();
            }
            if (step == 0)
                optimizer.Step();
        }
        // The second backward accumulated into the zeroed flat gradient: the same gradient as the first, read through the view.
        CollectionAssert.AreEqual(Enumerable.Repeat(1f, 15).ToArray(), parameters[0].grad!.data<float>().ToArray());
        CollectionAssert.AreEqual(Enumerable.Repeat(-1f, 7).ToArray(), parameters[1].grad!.data<float>().ToArray());

        for (int i = 0; i < parameters.Length; i++)
        {
            float[] after = parameters[i].data<float>().ToArray();
            float expected = i == 0 ? -0.01f : 0.01f;
            for (int k = 0; k < after.Length; k++)
                Assert.AreEqual(before[i][k] + expected, after[k], 1e-6f, $"parameter {i}, value {k}");
        }
    }
}
