using PacketDotNet;
using SharpPcap;
using SharpPcap.LibPcap;

namespace MetalAgent.Backends.Pcap;

/// <summary>Reads and writes Ethernet pcap files through SharpPcap (libpcap).</summary>
public static class PcapFiles
{
    /// <summary>Reads every frame of a capture file.</summary>
    public static List<byte[]> ReadAll(string path)
    {
        var frames = new List<byte[]>();
        using var device = new CaptureFileReaderDevice(path);
        device.Open();
        while (device.GetNextPacket(out PacketCapture capture) == GetPacketStatus.PacketRead)
        {
            frames.Add(capture.GetPacket().Data.ToArray());
        }
        return frames;
    }

    /// <summary>Writes frames to a new capture file (link type Ethernet), timestamps one microsecond apart.</summary>
    public static void WriteAll(string path, IEnumerable<byte[]> frames)
    {
        using var writer = new CaptureFileWriterDevice(path, FileMode.Create);
        writer.Open(new DeviceConfiguration { LinkLayerType = LinkLayers.Ethernet });
        var start = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        int i = 0;
        foreach (byte[] frame in frames)
        {
            var time = new PosixTimeval(start.AddTicks(i * 10L));
            writer.Write(new RawCapture(LinkLayers.Ethernet, time, frame));
            i++;
        }
    }
}
