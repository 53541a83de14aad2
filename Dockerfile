# syntax=docker/dockerfile:1
# MetalAgent: the per-host agent (and the reference control plane: same executable).
#
#   docker build -t metalagent .
#
# Run the agent with host networking (it opens TAP devices and AF_PACKET sockets on the host's
# interfaces) and only the two capabilities it needs: CAP_NET_ADMIN (TAP devices) and CAP_NET_RAW
# (AF_PACKET). Configuration, persisted state and the control socket live on the host:
#
#   docker run -d --name metalagent --restart on-failure \
#     --network host --cap-drop ALL --cap-add NET_ADMIN --cap-add NET_RAW \
#     --device /dev/net/tun \
#     -v /etc/metalagent:/etc/metalagent:ro \
#     -v /var/lib/metalagent:/var/lib/metalagent \
#     -v /run/metalagent:/run/metalagent \
#     metalagent
#
# Ports in other network namespaces also need --cap-add SYS_ADMIN (setns) and -v /run/netns:/run/netns.
# Metrics and health: http://127.0.0.1:9464/metrics, /healthz/live, /healthz/ready (host network).
# Live commands: docker exec metalagent metalagent status
# The control plane: ... metalagent controlplane --config /etc/metalagent/controlplane.yaml --manifests /etc/metalagent/manifests
# (no capabilities, no host network needed: publish port 7443).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/ src/
# Build output from a developer checkout must not leak into the image build.
RUN find src -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} + \
 && dotnet publish src/MetalAgent.Agent -c Release -o /out --nologo

# The ASP.NET Core runtime image, not runtime:10.0: the metrics/health endpoint, the control socket
# and the control plane's gRPC server run on Kestrel (Microsoft.AspNetCore.App).
FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /usr/lib/metalagent
COPY --from=build /out ./
ENV PATH="/usr/lib/metalagent:${PATH}" \
    DOTNET_gcServer=0
# SIGTERM: stop accepting updates, persist state, leave TAP devices, exit within seconds.
STOPSIGNAL SIGTERM
ENTRYPOINT ["metalagent"]
CMD ["run", "--config", "/etc/metalagent/agent.yaml"]
