using Fsac.MLNet.Native;
using System.Runtime.InteropServices;

namespace Fsac.MLNet.Tests.Native;

/// <summary><see cref="NativeHeap.ReleaseFreePages"/> against glibc's heap, read from the process's resident memory.</summary>
[TestClass]
public sealed class NativeHeapTests
{
    private const int Blocks = 4096;
    private const int BlockBytes = 64 << 10;

    [TestMethod]
    public void FreedHeapBlocksLeaveTheResidentMemory()
    {
        ResidentMemory.RequireProcStatus();
        // Blocks of 64 KB come from the heap (below glibc's 128 KB mmap threshold); a small block allocated after each
        // keeps free() from handing them back by itself (as when other allocations live around the freed ones), so only
        // a trim releases their pages. Marshal.AllocHGlobal is malloc on Linux.
        var ones = Enumerable.Repeat((byte)1, BlockBytes).ToArray();
        var blocks = new List<nint>();
        var pins = new List<nint>();
        try
        {
            for (int i = 0; i < Blocks; i++)
            {
                var block = Marshal.AllocHGlobal(BlockBytes);
                blocks.Add(block);
                Marshal.Copy(ones, 0, block, BlockBytes); // resident
                pins.Add(Marshal.AllocHGlobal(64));
            }
            blocks.ForEach(Marshal.FreeHGlobal);
            blocks.Clear();
            long held = ResidentMemory.AnonymousKilobytes();
            NativeHeap.ReleaseFreePages();
            long released = held - ResidentMemory.AnonymousKilobytes();
            // 256 MB were freed; at least half of it must leave.
            Assert.IsGreaterThanOrEqualTo(128L << 10, released, $"released {released} KB of {(long)Blocks * BlockBytes >> 10} KB freed");
        }
        finally
        {
            blocks.ForEach(Marshal.FreeHGlobal);
            pins.ForEach(Marshal.FreeHGlobal);
        }
    }
}
