using Microsoft.VisualStudio.TestTools.UnitTesting;
using TorchSharp;

namespace Microsoft.ML.Fff.Tests;

[TestClass]
public sealed class TorchSmokeTests
{
    [TestMethod]
    public void TorchLoadsAndMultiplies()
    {
        using var a = torch.ones(2, 3);
        using var b = torch.ones(3, 4);
        using var c = a.matmul(b);
        Assert.AreEqual(3f, c[0, 0].item<float>());
    }
}
