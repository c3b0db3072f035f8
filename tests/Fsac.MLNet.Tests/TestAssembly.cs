using Fsac.MLNet.Native;
using TorchSharp;

namespace Fsac.MLNet.Tests;

[TestClass]
public static class TestAssembly
{
    /// <summary>
    /// Loads libtorch the way the library does (<see cref="TorchRuntime.EnsureLoaded"/>) before the first TorchSharp call.
    /// The tests use tiny tensors, for which libtorch's thread pool costs more than it gains (and competes with
    /// whatever else runs on a 2-core CI machine); one intra-op thread keeps them fast and their timing stable.
    /// </summary>
    [AssemblyInitialize]
    public static void Initialize(TestContext _)
    {
        TorchRuntime.EnsureLoaded();
        torch.set_num_threads(1);
    }
}
