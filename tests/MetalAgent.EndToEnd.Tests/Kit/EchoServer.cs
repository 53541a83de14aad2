using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace MetalAgent.EndToEnd.Tests.Kit;

/// <summary>
/// A TCP server inside a guest's namespace: answers every line with "NAME LINE" (so a client behind a
/// load balancer learns which guest served it) and records who connected.
/// </summary>
internal sealed class EchoServer : IDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<IPEndPoint> _peers = new();
    private readonly ConcurrentBag<Socket> _connections = [];

    public EchoServer(string ns, string name, AddressFamily family, int port)
    {
        Name = name;
        Port = port;
        _listener = NamespaceSockets.Create(ns, family);
        try
        {
            _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            if (family == AddressFamily.InterNetworkV6)
            {
                _listener.DualMode = false;
            }
            _listener.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, port));
            _listener.Listen(64);
        }
        catch
        {
            _listener.Dispose();
            throw;
        }
        _ = AcceptLoop();
    }

    public string Name { get; }

    public int Port { get; }

    /// <summary>Remote endpoints of every accepted connection, in order.</summary>
    public IReadOnlyCollection<IPEndPoint> Peers => _peers;

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        foreach (Socket s in _connections)
        {
            s.Dispose();
        }
        _stop.Dispose();
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _connections.Add(client);
            _peers.Enqueue((IPEndPoint)client.RemoteEndPoint!);
            _ = Serve(client);
        }
    }

    private async Task Serve(Socket client)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                string? line = await NamespaceSockets.ReadLineAsync(client, _stop.Token);
                if (line is null)
                {
                    break;
                }
                await client.SendAsync(Encoding.ASCII.GetBytes($"{Name} {line}\n"), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            client.Dispose();
        }
    }
}
