using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace MetalAgent.EndToEnd.Tests.Kit;

/// <summary>
/// Forwards TCP connections accepted on an endpoint inside one namespace to an endpoint inside another:
/// the agents reach the plaintext control plane (which listens on loopback only) through their own loopback.
/// Bytes are copied unchanged in both directions; closing either side closes both.
/// </summary>
internal sealed class TcpForwarder : IDisposable
{
    private readonly Socket _listener;
    private readonly string _targetNamespace;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<Socket, bool> _open = new();

    public TcpForwarder(string listenNamespace, IPEndPoint listen, string targetNamespace, IPEndPoint target)
    {
        _targetNamespace = targetNamespace;
        _target = target;
        _listener = NamespaceSockets.Create(listenNamespace, listen.AddressFamily);
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(listen);
        _listener.Listen(16);
        _ = AcceptLoop();
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Dispose();
        foreach (Socket s in _open.Keys)
        {
            s.Dispose();
        }
        _stop.Dispose();
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket inbound;
            try
            {
                inbound = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = Forward(inbound);
        }
    }

    private async Task Forward(Socket inbound)
    {
        _open[inbound] = true;
        Socket outbound = NamespaceSockets.Create(_targetNamespace, _target.AddressFamily);
        _open[outbound] = true;
        try
        {
            await outbound.ConnectAsync(_target, _stop.Token);
            await Task.WhenAny(Pump(inbound, outbound), Pump(outbound, inbound));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            _open.TryRemove(inbound, out _);
            _open.TryRemove(outbound, out _);
            inbound.Dispose();
            outbound.Dispose();
        }
    }

    private async Task Pump(Socket from, Socket to)
    {
        var buffer = new byte[16384];
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (n == 0)
                {
                    return;
                }
                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }
}
