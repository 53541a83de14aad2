using System.Net;
using System.Net.Sockets;
using System.Text;
using MetalAgent.Backends.Linux;

namespace MetalAgent.EndToEnd.Tests.Kit;

/// <summary>How a TCP connection attempt ended.</summary>
internal enum ConnectOutcome
{
    Connected,

    /// <summary>A RST came back: the address answered, nothing listens on the port.</summary>
    Refused,

    /// <summary>No answer at all within the time limit (dropped on the way).</summary>
    TimedOut,

    /// <summary>Another error (unreachable, ICMP error).</summary>
    Failed,
}

/// <summary>Sockets inside a network namespace: created on a thread that entered it (see
/// <see cref="NetworkNamespace"/>), then used from any thread. No helper process, no port forwarding.</summary>
internal static class NamespaceSockets
{
    public static Socket Create(string ns, AddressFamily family, SocketType type = SocketType.Stream, ProtocolType protocol = ProtocolType.Tcp) =>
        NetworkNamespace.Run(ns, () => new Socket(family, type, protocol));

    /// <summary>Connects from <paramref name="ns"/> to <paramref name="target"/>; the socket is returned only when connected.</summary>
    public static async Task<(ConnectOutcome Outcome, Socket? Socket, string Detail)> ConnectAsync(string ns, IPEndPoint target, TimeSpan timeout, IPAddress? source = null)
    {
        Socket socket = Create(ns, target.AddressFamily);
        try
        {
            socket.NoDelay = true;
            if (source is not null)
            {
                socket.Bind(new IPEndPoint(source, 0));
            }
            using var cts = new CancellationTokenSource(timeout);
            await socket.ConnectAsync(target, cts.Token);
            return (ConnectOutcome.Connected, socket, string.Empty);
        }
        catch (OperationCanceledException)
        {
            socket.Dispose();
            return (ConnectOutcome.TimedOut, null, $"no answer within {timeout.TotalSeconds} s");
        }
        catch (SocketException e)
        {
            socket.Dispose();
            return (e.SocketErrorCode == SocketError.ConnectionRefused ? ConnectOutcome.Refused : ConnectOutcome.Failed, null, e.SocketErrorCode + ": " + e.Message);
        }
    }

    /// <summary>Sends one line and reads one line back; null when nothing (complete) came back in time.</summary>
    public static async Task<string?> RoundTripAsync(Socket socket, string line, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes(line + "\n"), SocketFlags.None, cts.Token);
            return await ReadLineAsync(socket, cts.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            return null;
        }
    }

    /// <summary>Reads bytes up to '\n' (one byte at a time: lines are short and this keeps no buffer state between calls).</summary>
    public static async Task<string?> ReadLineAsync(Socket socket, CancellationToken token)
    {
        var text = new StringBuilder();
        var one = new byte[1];
        while (true)
        {
            int n = await socket.ReceiveAsync(one, SocketFlags.None, token);
            if (n == 0)
            {
                return null;
            }
            if (one[0] == '\n')
            {
                return text.ToString();
            }
            text.Append((char)one[0]);
        }
    }
}
