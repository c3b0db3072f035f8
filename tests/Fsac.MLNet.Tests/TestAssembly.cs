using TorchSharp;

namespace Fsac.MLNet.Tests;

[TestClass]
public static class TestAssembly
{
    /// <summary>
    /// The tests use tiny tensors, for which libtorch's thread pool costs more than it gains (and competes with
    /// whatever else runs on a 2-core CI machine); one intra-op thread keeps them fast and their timing stable.
    /// </summary>
    [AssemblyInitialize]
    public static void Initialize(TestContext _) => torch.set_num_threads(1);
}
