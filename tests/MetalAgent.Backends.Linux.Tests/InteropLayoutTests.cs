using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using MetalAgent.Backends.Linux.Interop;
using Tmds.Linux;

namespace MetalAgent.Backends.Linux.Tests;

/// <summary>
/// Checks every struct and constant of the Interop folder (and the Tmds.LibC ones the backends rely
/// on) against the C headers: a C probe generated from the same list is compiled with gcc and prints
/// sizeof / offsetof / values, which must equal Marshal.SizeOf / Marshal.OffsetOf / the C# constants.
/// </summary>
public sealed unsafe class InteropLayoutTests
{
    private sealed record Entry(string Key, string CExpression, long Value, string? IfDefined = null);

    [Fact]
    public void Structs_and_constants_match_the_linux_headers()
    {
        List<Entry> entries = Entries();
        Dictionary<string, long> c = RunProbe(entries);
        var mismatches = new List<string>();
        foreach (Entry e in entries)
        {
            if (!c.TryGetValue(e.Key, out long actual))
            {
                if (e.IfDefined is null)
                {
                    mismatches.Add($"{e.Key}: missing from the probe output");
                }
                continue;
            }
            if (actual != e.Value)
            {
                mismatches.Add($"{e.Key}: C {actual}, C# {e.Value}");
            }
        }
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
        Assert.True(c.Count >= entries.Count(e => e.IfDefined is null));
    }

    private static List<Entry> Entries()
    {
        var list = new List<Entry>();
        void Size<T>(string cType) => list.Add(new($"sizeof({cType})", $"sizeof({cType})", Marshal.SizeOf<T>()));
        void Offset(string cType, string member, long value) => list.Add(new($"offsetof({cType}, {member})", $"offsetof({cType}, {member})", value));
        void Field<T>(string cType, string member) => Offset(cType, member, Marshal.OffsetOf<T>(member).ToInt64());
        void Const(string name, long value, string? ifDefined = null) => list.Add(new(name, name, value, ifDefined));

        Size<ifreq>("struct ifreq");
        Field<ifreq>("struct ifreq", "ifr_name");
        Field<ifreq>("struct ifreq", "ifr_flags");
        Field<ifreq>("struct ifreq", "ifr_ifindex");
        Field<ifreq>("struct ifreq", "ifr_mtu");
        Offset("struct ifreq", "ifr_hwaddr.sa_family", Marshal.OffsetOf<ifreq>(nameof(ifreq.ifr_hwaddr_sa_family)).ToInt64());
        Offset("struct ifreq", "ifr_hwaddr.sa_data", Marshal.OffsetOf<ifreq>(nameof(ifreq.ifr_hwaddr_sa_data)).ToInt64());

        Size<tpacket_req3>("struct tpacket_req3");
        foreach (string f in new[] { "tp_block_size", "tp_block_nr", "tp_frame_size", "tp_frame_nr", "tp_retire_blk_tov", "tp_sizeof_priv", "tp_feature_req_word" })
        {
            Field<tpacket_req3>("struct tpacket_req3", f);
        }

        Size<tpacket_block_desc>("struct tpacket_block_desc");
        Field<tpacket_block_desc>("struct tpacket_block_desc", "version");
        Field<tpacket_block_desc>("struct tpacket_block_desc", "offset_to_priv");
        Field<tpacket_block_desc>("struct tpacket_block_desc", "hdr");
        long bh1 = Marshal.OffsetOf<tpacket_block_desc>("hdr").ToInt64() + Marshal.OffsetOf<tpacket_bd_header_u>("bh1").ToInt64();
        Size<tpacket_hdr_v1>("struct tpacket_hdr_v1");
        foreach (string f in new[] { "block_status", "num_pkts", "offset_to_first_pkt", "blk_len", "seq_num", "ts_first_pkt", "ts_last_pkt" })
        {
            Field<tpacket_hdr_v1>("struct tpacket_hdr_v1", f);
            Offset("struct tpacket_block_desc", "hdr.bh1." + f, bh1 + Marshal.OffsetOf<tpacket_hdr_v1>(f).ToInt64());
        }
        Size<tpacket_bd_ts>("struct tpacket_bd_ts");
        Field<tpacket_bd_ts>("struct tpacket_bd_ts", "ts_sec");
        Field<tpacket_bd_ts>("struct tpacket_bd_ts", "ts_nsec");

        Size<tpacket3_hdr>("struct tpacket3_hdr");
        foreach (string f in new[] { "tp_next_offset", "tp_sec", "tp_nsec", "tp_snaplen", "tp_len", "tp_status", "tp_mac", "tp_net", "hv1", "tp_padding" })
        {
            Field<tpacket3_hdr>("struct tpacket3_hdr", f);
        }
        long hv1 = Marshal.OffsetOf<tpacket3_hdr>("hv1").ToInt64();
        Size<tpacket_hdr_variant1>("struct tpacket_hdr_variant1");
        foreach (string f in new[] { "tp_rxhash", "tp_vlan_tci", "tp_vlan_tpid", "tp_padding" })
        {
            Field<tpacket_hdr_variant1>("struct tpacket_hdr_variant1", f);
            Offset("struct tpacket3_hdr", "hv1." + f, hv1 + Marshal.OffsetOf<tpacket_hdr_variant1>(f).ToInt64());
        }

        Size<tpacket_stats_v3>("struct tpacket_stats_v3");
        foreach (string f in new[] { "tp_packets", "tp_drops", "tp_freeze_q_cnt" })
        {
            Field<tpacket_stats_v3>("struct tpacket_stats_v3", f);
        }

        // Tmds.LibC structs: properties over hidden fields, so offsets are found by setting one member at a time.
        Size<sockaddr_ll>("struct sockaddr_ll");
        Offset("struct sockaddr_ll", "sll_family", FirstSet(new sockaddr_ll { sll_family = 0xFFFF }));
        Offset("struct sockaddr_ll", "sll_protocol", FirstSet(new sockaddr_ll { sll_protocol = 0xFFFF }));
        Offset("struct sockaddr_ll", "sll_ifindex", FirstSet(new sockaddr_ll { sll_ifindex = -1 }));
        Offset("struct sockaddr_ll", "sll_hatype", FirstSet(new sockaddr_ll { sll_hatype = 0xFFFF }));
        Offset("struct sockaddr_ll", "sll_pkttype", FirstSet(new sockaddr_ll { sll_pkttype = 0xFF }));
        Offset("struct sockaddr_ll", "sll_halen", FirstSet(new sockaddr_ll { sll_halen = 0xFF }));
        var withAddress = default(sockaddr_ll);
        withAddress.sll_addr[0] = 0xFF;
        Offset("struct sockaddr_ll", "sll_addr", FirstSet(withAddress));
        Size<epoll_event>("struct epoll_event");
        Size<pollfd>("struct pollfd");

        Const("IFNAMSIZ", Native.IFNAMSIZ);
        Const("TUNSETIFF", Native.TUNSETIFF);
        Const("TUNSETPERSIST", Native.TUNSETPERSIST);
        Const("TUNSETQUEUE", Native.TUNSETQUEUE);
        Const("IFF_TUN", Native.IFF_TUN);
        Const("IFF_TAP", Native.IFF_TAP);
        Const("IFF_MULTI_QUEUE", Native.IFF_MULTI_QUEUE);
        Const("IFF_ATTACH_QUEUE", Native.IFF_ATTACH_QUEUE);
        Const("IFF_DETACH_QUEUE", Native.IFF_DETACH_QUEUE);
        Const("IFF_PERSIST", Native.IFF_PERSIST);
        Const("IFF_NO_PI", Native.IFF_NO_PI);
        Const("IFF_VNET_HDR", Native.IFF_VNET_HDR);
        Const("IFF_UP", Native.IFF_UP);
        Const("IFF_RUNNING", Native.IFF_RUNNING);
        Const("IFF_LOWER_UP", Native.IFF_LOWER_UP);
        Const("ETH_P_ALL", Native.ETH_P_ALL);
        Const("ETH_P_8021Q", Native.ETH_P_8021Q);
        Const("ETH_P_8021AD", Native.ETH_P_8021AD);
        Const("ARPHRD_ETHER", Native.ARPHRD_ETHER);
        Const("TPACKET_V3", Native.TPACKET_V3);
        Const("TPACKET_ALIGNMENT", Native.TPACKET_ALIGNMENT);
        Const("TPACKET3_HDRLEN", Native.TPACKET3_HDRLEN);
        Const("TP_STATUS_KERNEL", Native.TP_STATUS_KERNEL);
        Const("TP_STATUS_USER", Native.TP_STATUS_USER);
        Const("TP_STATUS_COPY", Native.TP_STATUS_COPY);
        Const("TP_STATUS_LOSING", Native.TP_STATUS_LOSING);
        Const("TP_STATUS_CSUMNOTREADY", Native.TP_STATUS_CSUMNOTREADY);
        Const("TP_STATUS_VLAN_VALID", Native.TP_STATUS_VLAN_VALID);
        Const("TP_STATUS_BLK_TMO", Native.TP_STATUS_BLK_TMO);
        Const("TP_STATUS_VLAN_TPID_VALID", Native.TP_STATUS_VLAN_TPID_VALID);
        Const("TP_STATUS_AVAILABLE", Native.TP_STATUS_AVAILABLE);
        Const("TP_STATUS_SEND_REQUEST", Native.TP_STATUS_SEND_REQUEST);
        Const("TP_STATUS_SENDING", Native.TP_STATUS_SENDING);
        Const("TP_STATUS_WRONG_FORMAT", Native.TP_STATUS_WRONG_FORMAT);
        Const("PACKET_FANOUT_HASH", Native.PACKET_FANOUT_HASH);
        Const("PACKET_FANOUT_LB", Native.PACKET_FANOUT_LB);
        Const("PACKET_FANOUT_CPU", Native.PACKET_FANOUT_CPU);
        Const("PACKET_FANOUT_ROLLOVER", Native.PACKET_FANOUT_ROLLOVER);
        Const("PACKET_FANOUT_RND", Native.PACKET_FANOUT_RND);
        Const("PACKET_FANOUT_QM", Native.PACKET_FANOUT_QM);
        Const("PACKET_FANOUT_FLAG_ROLLOVER", Native.PACKET_FANOUT_FLAG_ROLLOVER);
        Const("PACKET_FANOUT_FLAG_UNIQUEID", Native.PACKET_FANOUT_FLAG_UNIQUEID);
        Const("PACKET_FANOUT_FLAG_DEFRAG", Native.PACKET_FANOUT_FLAG_DEFRAG);
        // Newer than the distribution's kernel headers: checked where they have it.
        Const("PACKET_FANOUT_FLAG_IGNORE_OUTGOING", Native.PACKET_FANOUT_FLAG_IGNORE_OUTGOING, ifDefined: "PACKET_FANOUT_FLAG_IGNORE_OUTGOING");

        // Tmds.LibC constants the backends use.
        Const("SOL_PACKET", LibC.SOL_PACKET);
        Const("PACKET_VERSION", LibC.PACKET_VERSION);
        Const("PACKET_RX_RING", LibC.PACKET_RX_RING);
        Const("PACKET_TX_RING", LibC.PACKET_TX_RING);
        Const("PACKET_LOSS", LibC.PACKET_LOSS);
        Const("PACKET_FANOUT", LibC.PACKET_FANOUT);
        Const("PACKET_STATISTICS", LibC.PACKET_STATISTICS);
        Const("PACKET_IGNORE_OUTGOING", LibC.PACKET_IGNORE_OUTGOING);
        Const("PACKET_OUTGOING", LibC.PACKET_OUTGOING);
        Const("AF_PACKET", (ushort)LibC.AF_PACKET);
        Const("SIOCGIFINDEX", LibC.SIOCGIFINDEX);
        Const("SIOCGIFFLAGS", LibC.SIOCGIFFLAGS);
        Const("SIOCSIFFLAGS", LibC.SIOCSIFFLAGS);
        Const("SIOCGIFHWADDR", LibC.SIOCGIFHWADDR);
        Const("SIOCGIFMTU", LibC.SIOCGIFMTU);
        Const("SIOCSIFMTU", LibC.SIOCSIFMTU);
        Const("CLONE_NEWNET", LibC.CLONE_NEWNET);
        return list;
    }

    private static long FirstSet<T>(T value) where T : unmanaged =>
        MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)).IndexOfAnyExcept((byte)0);

    private static Dictionary<string, long> RunProbe(List<Entry> entries)
    {
        var source = new StringBuilder("""
            #define _GNU_SOURCE
            #include <stddef.h>
            #include <stdio.h>
            #include <sched.h>
            #include <sys/ioctl.h>
            #include <sys/socket.h>
            #include <sys/epoll.h>
            #include <poll.h>
            #include <linux/if.h>
            #include <linux/if_tun.h>
            #include <linux/if_packet.h>
            #include <linux/if_ether.h>
            #include <linux/if_arp.h>
            #include <linux/sockios.h>
            int main(void) {

            """);
        foreach (Entry e in entries)
        {
            if (e.IfDefined is not null)
            {
                source.Append("#ifdef ").AppendLine(e.IfDefined);
            }
            source.Append("    printf(\"%s|%lld\\n\", \"").Append(e.Key).Append("\", (long long)(").Append(e.CExpression).AppendLine("));");
            if (e.IfDefined is not null)
            {
                source.AppendLine("#endif");
            }
        }
        source.AppendLine("    return 0;\n}");

        string dir = Directory.CreateTempSubdirectory("ma-interop-").FullName;
        try
        {
            string c = Path.Combine(dir, "probe.c"), exe = Path.Combine(dir, "probe");
            File.WriteAllText(c, source.ToString());
            (int compiled, string compileOutput) = Run("gcc", "-Wall", "-Werror", "-o", exe, c);
            Assert.True(compiled == 0, $"gcc (needed by this test, with the Linux kernel headers) failed:\n{compileOutput}");
            (int ran, string output) = Run(exe);
            Assert.Equal(0, ran);
            var values = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                int bar = line.LastIndexOf('|');
                values[line[..bar]] = long.Parse(line[(bar + 1)..]);
            }
            return values;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static (int ExitCode, string Output) Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using Process p = Process.Start(psi)!;
        Task<string> error = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output + error.Result);
    }
}
