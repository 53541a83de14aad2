using System.Globalization;
using Grpc.Core;
using MetalAgent.ControlPlane.Addressing;
using MetalAgent.ControlPlane.Configuration;
using MetalAgent.ControlPlane.State;
using MetalAgent.ControlPlane.Sync;
using MetalAgent.ControlPlane.V1;
using MetalAgent.Model.V1;
using Microsoft.Extensions.Hosting;

namespace MetalAgent.ControlPlane.Server;

/// <summary>The per-host state stream (delta-xDS style): Hello, then updates answered one at a time by
/// Ack or Nack; deltas are computed against the last version the agent acknowledged.</summary>
public sealed class HostSyncService(ControlPlaneRuntime runtime, IHostApplicationLifetime lifetime) : HostSync.HostSyncBase
{
    public override async Task Stream(IAsyncStreamReader<AgentMessage> requestStream, IServerStreamWriter<ServerMessage> responseStream, ServerCallContext context)
    {
        ClientIdentity identity = runtime.Identities.Resolve(context)
            ?? throw CertificateIdentityResolver.NotIdentified(context);
        if (!identity.Has(ClientRoles.Host))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"{identity.Describe()} may not open a host stream: that needs a host certificate (OU=host)"));
        }
        if (!await requestStream.MoveNext(context.CancellationToken))
        {
            return;
        }
        if (requestStream.Current.MessageCase != AgentMessage.MessageOneofCase.Hello)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "the first message must be a Hello"));
        }
        Hello hello = requestStream.Current.Hello;
        HostConfig host = CheckHello(hello, identity, runtime.Engine.Config);

        // Shutdown ends the stream at once (the agent reconnects) instead of waiting out Kestrel's shutdown timeout.
        using var session = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        CancellationToken token = runtime.Connect(host.Name, session);
        try
        {
            await RunSession(host.Name, hello, requestStream, responseStream, token);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // The client went away or a newer stream of the same host replaced this one.
        }
        finally
        {
            runtime.Disconnect(host.Name, session);
        }
    }

    /// <summary>A host may only act as itself (the name in its certificate) and must present the configured /64.</summary>
    public static HostConfig CheckHello(Hello hello, ClientIdentity identity, ControlPlaneConfig config)
    {
        ArgumentNullException.ThrowIfNull(hello);
        ArgumentNullException.ThrowIfNull(identity);
        ArgumentNullException.ThrowIfNull(config);
        if (!identity.MayActAsHost(hello.HostName))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"{hello.HostName}: the {identity.Describe()} may not act as this host"));
        }
        HostConfig host = config.FindHost(hello.HostName)
            ?? throw new RpcException(new Status(StatusCode.PermissionDenied, $"{hello.HostName}: not a configured host"));
        if (!IpPrefixValue.TryParse(hello.UnderlayPrefix, out IpPrefixValue prefix, out bool hostBits) || hostBits || prefix != host.UnderlayPrefix)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"{host.Name}: underlay prefix {hello.UnderlayPrefix} does not match the configured {host.UnderlayPrefix}"));
        }
        return host;
    }

    private async Task RunSession(string host, Hello hello, IAsyncStreamReader<AgentMessage> requests, IServerStreamWriter<ServerMessage> responses, CancellationToken token)
    {
        // What the agent holds: known only when it names the current version and its digest.
        HostSpec? acked = null;
        bool confirmHeld = false;
        if (hello.HeldVersion != 0 && runtime.Current.Hosts.TryGetValue(host, out VersionedHostState? held)
            && held.Version == hello.HeldVersion && held.Sha256 == hello.HeldStateSha256)
        {
            acked = held.Spec;
            confirmHeld = true;
        }
        (string Nonce, HostSpec Spec)? inFlight = null;
        ulong refusedVersion = 0;
        long nonce = 0;
        Task<bool>? read = null;
        while (true)
        {
            Task changed = runtime.Changed;
            ControlPlaneSnapshot snapshot = runtime.Current;
            if (inFlight is null && snapshot.Hosts.TryGetValue(host, out VersionedHostState? current)
                && (confirmHeld || (current.Version != acked?.Version && current.Version != refusedVersion)))
            {
                confirmHeld = false;
                var update = new StateUpdate
                {
                    Version = current.Version,
                    Nonce = (++nonce).ToString(CultureInfo.InvariantCulture),
                    StateSha256 = current.Sha256,
                };
                if (acked is null)
                {
                    update.Full = current.Spec;
                }
                else
                {
                    update.Delta = HostSpecDiff.Compute(acked, current.Spec);
                }
                inFlight = (update.Nonce, current.Spec);
                await responses.WriteAsync(new ServerMessage { Update = update }, token);
            }

            read ??= requests.MoveNext(token);
            Task done = await Task.WhenAny(read, changed).WaitAsync(token);
            if (done != read)
            {
                continue;
            }
            if (!await read)
            {
                return;
            }
            read = null;
            AgentMessage message = requests.Current;
            switch (message.MessageCase)
            {
                case AgentMessage.MessageOneofCase.Ack when inFlight is { } f && f.Nonce == message.Ack.Nonce:
                    acked = f.Spec;
                    inFlight = null;
                    runtime.RecordAck(host, message.Ack.Version);
                    break;
                case AgentMessage.MessageOneofCase.Nack when inFlight is { } f && f.Nonce == message.Nack.Nonce:
                    inFlight = null;
                    runtime.RecordNack(host, message.Nack.Version, [.. message.Nack.Errors]);
                    if (message.Nack.Resync)
                    {
                        acked = null;
                        refusedVersion = 0;
                    }
                    else
                    {
                        // Do not resend a version the agent refused; the next change gets a new one.
                        refusedVersion = message.Nack.Version;
                    }
                    break;
                case AgentMessage.MessageOneofCase.Status:
                    runtime.RecordStatus(host, message.Status);
                    break;
                case AgentMessage.MessageOneofCase.Hello:
                    throw new RpcException(new Status(StatusCode.InvalidArgument, "Hello is only valid as the first message"));
                default:
                    // An answer with a stale nonce (the update it answers was superseded) is ignored, as in xDS.
                    break;
            }
        }
    }
}
