using System.Net.Sockets;
using Grpc.Net.Client;
using MetalAgent.Agent.Local.V1;

namespace MetalAgent.Agent.Local;

/// <summary>A client of a running agent's local control socket (gRPC over a Unix domain socket).</summary>
public sealed class LocalControlClient : IDisposable
{
    private readonly GrpcChannel _channel;

    public LocalControlClient(string socketPath)
    {
        SocketPath = socketPath;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), token);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        // The authority is not used for routing: every connection goes to the socket.
        _channel = GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxSendMessageSize = LocalControlServer.MaxRequestBytes,
            MaxReceiveMessageSize = LocalControlServer.MaxRequestBytes,
        });
        Agent = new AgentControl.AgentControlClient(_channel);
    }

    public string SocketPath { get; }

    public AgentControl.AgentControlClient Agent { get; }

    public void Dispose() => _channel.Dispose();
}
