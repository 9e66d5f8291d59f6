using System;
using Microsoft.ML.Fff.Training;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace Microsoft.ML.Fff.Tests;

/// <summary>What loading libtorch does to the process (docs/decisions.md, "libtorch threads wait passively").</summary>
[TestClass]
public sealed class TorchRuntimeTests
{
    /// <summary>
    /// The passive OpenMP policy is set for libtorch's own runtime only: after training, the native environment holds what it held
    /// before (another OpenMP runtime loaded later, such as LightGBM's, reads its defaults), and a user's own setting is kept.
    /// </summary>
    [TestMethod]
    public void TrainingLeavesTheOpenMpWaitPolicyOfTheEnvironmentAsItWas()
    {
        if (!OperatingSystem.IsLinux())
            Assert.Inconclusive("The policy is set on glibc Linux only.");
        string? before = TorchRuntime.NativeOpenMpWaitPolicy();
        var mlContext = new MLContext(seed: 1);
        mlContext.BinaryClassification.Trainers.FastFeedForward(depth: 1, leafWidth: 2, numberOfEpochs: 1).Fit(TestData.BinaryData(mlContext, count: 50));
        TorchRuntime.Initialize(FffDevice.Cpu);
        Assert.AreEqual(before, TorchRuntime.NativeOpenMpWaitPolicy());
    }
}
