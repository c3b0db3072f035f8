using Fsac.MLNet.Native;
using System.Runtime.CompilerServices;

namespace Fsac.MLNet.Tests.Native;

/// <summary><see cref="LargeGarbage.Release"/> against the garbage collector's retained pages, read from the resident memory.</summary>
[TestClass]
public sealed class LargeGarbageTests
{
    private const int Arrays = 64;
    private const int ArrayBytes = 4 << 20;

    [TestMethod]
    public void DroppedLargeArraysLeaveTheResidentMemory()
    {
        ResidentMemory.RequireProcStatus();
        long touched = AllocateAndDrop();
        // A plain full collection frees the arrays but keeps their pages for later allocations.
        GC.Collect();
        long held = ResidentMemory.AnonymousKilobytes();
        LargeGarbage.Release();
        long released = held - ResidentMemory.AnonymousKilobytes();
        // 256 MB were dropped; at least half of it must leave.
        Assert.IsGreaterThanOrEqualTo(128L << 10, released, $"released {released} KB of {touched >> 10} KB dropped");
    }

    // Large-object arrays with every page written, unreachable once this returns.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static long AllocateAndDrop()
    {
        var arrays = new List<byte[]>(Arrays);
        for (int i = 0; i < Arrays; i++)
        {
            var array = new byte[ArrayBytes];
            Array.Fill(array, (byte)1);
            arrays.Add(array);
        }
        return arrays.Sum(a => (long)a.Length);
    }
}
