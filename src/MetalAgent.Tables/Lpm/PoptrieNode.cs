using System.Runtime.InteropServices;

namespace MetalAgent.Tables.Lpm;

/// <summary>One 64-way node of a Poptrie (Asai and Ohara, SIGCOMM 2015): 6 key bits select a child.</summary>
/// <remarks>
/// Bit v of <see cref="Vector"/> is set when child v is an inner node; inner children are stored
/// contiguously from <see cref="ChildBase"/> in child order, so child v is
/// <c>ChildBase + popcount(Vector &amp; bits 0..v) - 1</c>. The other children are leaves; runs of
/// equal adjacent leaves are stored once from <see cref="LeafBase"/>, and bit v of
/// <see cref="LeafVector"/> marks the leaf positions that start a run, so leaf v is
/// <c>LeafBase + popcount(LeafVector &amp; bits 0..v) - 1</c>.
/// A negative <see cref="LeafBase"/> marks a skip node (path compression): it stands for a chain of
/// single-child nodes without routes of their own. <see cref="LeafVector"/> holds the number of key
/// bits it consumes (low byte) and of 6-bit steps (second byte), <see cref="Vector"/> the expected
/// key bits, <see cref="ChildBase"/> the node below the chain and <c>~LeafBase</c> the leaf returned
/// when the key leaves the path.
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
internal struct PoptrieNode
{
    public ulong Vector;
    public ulong LeafVector;
    public int LeafBase;
    public int ChildBase;
}
