using System.Diagnostics;
using System.Runtime.CompilerServices;
using MetalAgent.Backends.Pcap;
using static MetalAgent.Dataplane.Tests.TestFrames;

namespace MetalAgent.Dataplane.Tests;

/// <summary>
/// The bundled sample capture (data/samples/host-a-web-1.pcap) that the README's demo replays:
/// its frames are built here, so the file is checked against the builder (UPDATE_SAMPLES=1
/// rewrites it), and replaying it with <c>metalagent replay</c> gives the expected verdicts and
/// pcaps that tcpdump reads.
/// </summary>
public class SampleCaptureTests
{
    private static readonly System.Net.NetworkInformation.PhysicalAddress Web1 = System.Net.NetworkInformation.PhysicalAddress.Parse("52-54-00-00-00-01");

    /// <summary>Each sample frame with the verdict the replay must print for it.</summary>
    internal static (byte[] Frame, string Verdict)[] Frames() =>
    [
        (ArpRequest(Web1, "10.0.0.1"), "forward web-1"),
        (Eth(Web1, Any, Tcp("10.0.0.1", "10.0.0.10", 40000, 5432)), "forward db-1"),
        (Eth(Web1, Any, Tcp("10.0.0.1", "10.0.0.2", 40001, 80)), "forward uplink0"),
        (Eth(Web1, Any, Udp("10.0.0.1", "10.1.0.1", 40002, 53)), "forward uplink0"),
        (Eth(Web1, Any, Tcp("10.0.0.1", "198.51.100.7", 40003, 443)), "forward uplink0"),
        (Eth(Web1, Any, Tcp("fd10::1", "fd10::2", 40004, 80)), "forward uplink0"),
        (Eth(Web1, Any, Tcp("10.0.0.1", "10.0.0.10", 40005, 22)), "drop policy_denied_ingress"),
        (Eth(Web1, Any, Udp("10.0.0.99", "10.0.0.2", 1, 2)), "drop spoofed_source"),
        (Eth(Web1, Any, Udp("10.0.0.1", "10.0.0.2", 1, 2))[..30], "drop parse_truncated_ipv4"),
    ];

    private static string Repo([CallerFilePath] string source = "") => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(source)!, "..", ".."));

    private static string SamplePath => Path.Combine(Repo(), "data", "samples", "host-a-web-1.pcap");

    [Fact]
    public void Sample_capture_holds_the_frames_built_here()
    {
        byte[][] frames = Frames().Select(f => f.Frame).ToArray();
        if (Environment.GetEnvironmentVariable("UPDATE_SAMPLES") == "1")
        {
            PcapFiles.WriteAll(SamplePath, frames);
        }
        List<byte[]> stored = PcapFiles.ReadAll(SamplePath);
        Assert.Equal(frames.Length, stored.Count);
        for (int i = 0; i < frames.Length; i++)
        {
            Assert.Equal(frames[i], stored[i]);
        }
    }

    [Fact]
    public void Replay_prints_the_verdicts_and_writes_pcaps_tcpdump_reads()
    {
        string output = Path.Combine(Path.GetTempPath(), "metalagent-replay-" + Guid.NewGuid().ToString("N"));
        var stdout = new StringWriter();
        TextWriter saved = Console.Out;
        int code;
        try
        {
            Console.SetOut(stdout);
            code = Agent.Program.Main(["replay", "--state", Path.Combine(Repo(), "data", "samples", "host-a.json"), "--in", SamplePath, "--port", "web-1", "--out", output]);
        }
        finally
        {
            Console.SetOut(saved);
        }
        try
        {
            Assert.Equal(0, code);
            string[] lines = stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            (byte[] Frame, string Verdict)[] expected = Frames();
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.Equal($"#{i + 1} in=web-1 {expected[i].Verdict}", lines[i].Trim());
            }
            Assert.Equal(4, PcapFiles.ReadAll(Path.Combine(output, "uplink0.pcap")).Count);
            Assert.Single(PcapFiles.ReadAll(Path.Combine(output, "db-1.pcap")));
            if (File.Exists("/usr/bin/tcpdump") || File.Exists("/usr/sbin/tcpdump"))
            {
                var psi = new ProcessStartInfo("tcpdump", ["-nr", Path.Combine(output, "uplink0.pcap")]) { RedirectStandardOutput = true, RedirectStandardError = true };
                using Process p = Process.Start(psi)!;
                string text = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                Assert.Equal(0, p.ExitCode);
                Assert.Equal(4, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
                Assert.Contains("fc00:1:a::1 > fc00:1:b::1", text);
            }
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }
}
