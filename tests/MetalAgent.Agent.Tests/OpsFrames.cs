using System.Buffers.Binary;
using System.Net;
using System.Net.NetworkInformation;
using MetalAgent.Compiler;
using PacketDotNet;

namespace MetalAgent.Agent.Tests;

/// <summary>Frames for the operations tests (PacketDotNet, independent of the agent's own builders).</summary>
internal static class OpsFrames
{
    public static readonly PhysicalAddress Web1Mac = PhysicalAddress.Parse("52-54-00-00-00-0A");

    public static readonly PhysicalAddress Db1Mac = PhysicalAddress.Parse("52-54-00-00-00-10");

    public static PhysicalAddress Gateway(string interfaceId) => Frames.Mac(HostCompiler.GatewayMac(interfaceId));

    public static byte[] Udp(PhysicalAddress vm, string interfaceId, string srcIp, string dstIp, ushort srcPort, ushort dstPort)
    {
        var udp = new UdpPacket(srcPort, dstPort) { PayloadData = new byte[8] };
        var ip = new IPv4Packet(IPAddress.Parse(srcIp), IPAddress.Parse(dstIp)) { TimeToLive = 64, PayloadPacket = udp };
        udp.UpdateUdpChecksum();
        ip.UpdateIPChecksum();
        return new EthernetPacket(vm, Gateway(interfaceId), EthernetType.IPv4) { PayloadPacket = ip }.Bytes;
    }

    /// <summary>An IPv4 TCP SYN (or ACK) inside IP-in-IPv6, as the router sends it to one of the host's /128s.</summary>
    public static byte[] FromUnderlay(string outerSrc, string outerDst, string srcIp, string dstIp, ushort srcPort, ushort dstPort, bool syn = true)
    {
        var tcp = new TcpPacket(srcPort, dstPort) { Synchronize = syn, Acknowledgment = !syn, WindowSize = 1000, SequenceNumber = 1 };
        var ip = new IPv4Packet(IPAddress.Parse(srcIp), IPAddress.Parse(dstIp)) { TimeToLive = 60, PayloadPacket = tcp };
        tcp.UpdateTcpChecksum();
        ip.UpdateIPChecksum();
        return Encapsulate(outerSrc, outerDst, ip.Bytes);
    }

    /// <summary>An IPv4 UDP datagram inside IP-in-IPv6.</summary>
    public static byte[] UdpFromUnderlay(string outerSrc, string outerDst, string srcIp, string dstIp, ushort srcPort, ushort dstPort)
    {
        var udp = new UdpPacket(srcPort, dstPort) { PayloadData = new byte[8] };
        var ip = new IPv4Packet(IPAddress.Parse(srcIp), IPAddress.Parse(dstIp)) { TimeToLive = 60, PayloadPacket = udp };
        udp.UpdateUdpChecksum();
        ip.UpdateIPChecksum();
        return Encapsulate(outerSrc, outerDst, ip.Bytes);
    }

    private static byte[] Encapsulate(string outerSrc, string outerDst, byte[] inner)
    {
        byte[] frame = new byte[14 + 40 + inner.Length];
        Frames.Mac(0x02_00_00_00_ff_01).GetAddressBytes().CopyTo(frame, 6);
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x86DD);
        frame[14] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(18), (ushort)inner.Length);
        frame[20] = 4; // IPv4 in IPv6
        frame[21] = 64;
        IPAddress.Parse(outerSrc).GetAddressBytes().CopyTo(frame, 22);
        IPAddress.Parse(outerDst).GetAddressBytes().CopyTo(frame, 38);
        inner.CopyTo(frame, 54);
        return frame;
    }

    /// <summary>Waits until <paramref name="done"/>, failing the test after 20 s.</summary>
    public static Task WaitUntil(Func<bool> done, string what) => AgentSyncTests.WaitUntil(done, what);
}
