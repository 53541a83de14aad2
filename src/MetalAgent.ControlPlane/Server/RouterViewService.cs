using Grpc.Core;
using MetalAgent.ControlPlane.Addressing;
using MetalAgent.ControlPlane.State;
using MetalAgent.ControlPlane.V1;
using Microsoft.Extensions.Hosting;

namespace MetalAgent.ControlPlane.Server;

/// <summary>Streams the router view: the whole view first, then again after every change.</summary>
public sealed class RouterViewService(ControlPlaneRuntime runtime, IHostApplicationLifetime lifetime) : RouterView.RouterViewBase
{
    public override async Task Watch(RouterHello request, IServerStreamWriter<RouterViewUpdate> responseStream, ServerCallContext context)
    {
        ClientIdentity identity = runtime.Identities.Resolve(context)
            ?? throw CertificateIdentityResolver.NotIdentified(context);
        if (!identity.Has(ClientRoles.Router))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, $"{identity.Describe()} may not watch the router view: that needs the router certificate (OU=router)"));
        }
        IpAddressValue configured = runtime.Engine.Config.RouterUnderlayAddress;
        if (request.UnderlayAddress.Length > 0
            && (!IpAddressValue.TryParse(request.UnderlayAddress, out IpAddressValue given) || given != configured))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"{request.RouterName}: underlay address {request.UnderlayAddress} does not match the configured {configured}"));
        }
        ulong sent = 0;
        // Shutdown ends the stream at once instead of waiting out Kestrel's shutdown timeout.
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        CancellationToken token = watch.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                Task changed = runtime.Changed;
                ControlPlaneSnapshot snapshot = runtime.Current;
                if (snapshot.Generation > 0 && snapshot.RouterView.Version != sent)
                {
                    await responseStream.WriteAsync(snapshot.RouterView, token);
                    sent = snapshot.RouterView.Version;
                }
                await changed.WaitAsync(token);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }
}
