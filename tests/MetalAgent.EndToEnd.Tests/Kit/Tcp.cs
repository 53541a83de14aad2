using System.Net;
using System.Net.Sockets;

namespace MetalAgent.EndToEnd.Tests.Kit;

/// <summary>TCP checks between guests, on top of <see cref="NamespaceSockets"/> and <see cref="EchoServer"/>.</summary>
internal static class Tcp
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Connects from <paramref name="from"/> until a connection is established and one line echoes
    /// (retrying within <paramref name="within"/>: first packets may wait for neighbour resolution);
    /// returns the open connection and the server's answer ("NAME text").</summary>
    public static Task<(Socket Socket, string Reply)> ConnectAsync(Guest from, IPEndPoint to, TimeSpan within) =>
        ConnectAsync(from.Namespace, from.Name, to, within);

    /// <summary>As <see cref="ConnectAsync(Guest, IPEndPoint, TimeSpan)"/> from any namespace, optionally from a given source address.</summary>
    public static async Task<(Socket Socket, string Reply)> ConnectAsync(string ns, string label, IPEndPoint to, TimeSpan within, IPAddress? source = null)
    {
        Socket? connected = null;
        string reply = string.Empty;
        await Eventually.AssertAsync($"{label} opens a TCP connection to {to} and gets an echo", within, async () =>
        {
            (ConnectOutcome outcome, Socket? socket, string detail) = await NamespaceSockets.ConnectAsync(ns, to, ConnectTimeout, source);
            if (socket is null)
            {
                return (false, $"{outcome}: {detail}");
            }
            string? answer = await NamespaceSockets.RoundTripAsync(socket, "hello from " + label, ConnectTimeout);
            if (answer is null)
            {
                socket.Dispose();
                return (false, "connected, but no echo");
            }
            connected = socket;
            reply = answer;
            return (true, string.Empty);
        });
        return (connected!, reply);
    }

    /// <summary>Asserts one connection attempt gets no answer at all (dropped, not refused).</summary>
    public static Task AssertTimesOutAsync(Guest from, IPEndPoint to) => AssertTimesOutAsync(from.Namespace, from.Name, to);

    public static async Task AssertTimesOutAsync(string ns, string label, IPEndPoint to)
    {
        (ConnectOutcome outcome, Socket? socket, string detail) = await NamespaceSockets.ConnectAsync(ns, to, ConnectTimeout);
        socket?.Dispose();
        Assert.True(outcome == ConnectOutcome.TimedOut, $"{label} → {to} must be dropped, but: {outcome} {detail}");
    }

    /// <summary>The echo server's answer on an open connection, or fails.</summary>
    public static async Task<string> EchoAsync(Socket socket, string text, TimeSpan within)
    {
        string? answer = await NamespaceSockets.RoundTripAsync(socket, text, within);
        Assert.True(answer is not null, $"no echo of '{text}' within {within.TotalSeconds} s on {socket.LocalEndPoint} → {socket.RemoteEndPoint}");
        return answer!;
    }

    public static EchoServer Serve(Guest guest, int port, AddressFamily family = AddressFamily.InterNetwork) =>
        new(guest.Namespace, guest.Name, family, port);
}
