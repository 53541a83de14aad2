#!/usr/bin/env bash
# The live demo (needs root): builds the end-to-end topology of network namespaces — the control
# plane over TLS on a management bridge, agents host-a and host-b with guests on TAP devices that
# real DHCP clients configure, the underlay, the userspace underlay router and an "internet"
# namespace — runs the quickstart manifests, shows guests pinging each other, internet clients
# reaching web-1 and web-2 through the public load balancer, web-1 reaching the internet from its
# VirtualIP, prints `metalagent status` and `metalagent get`, and tears everything down (also on
# failure). Every packet stays inside the namespaces it creates.
# The offline demo (replay of a sample capture, no root needed) is scripts/demo-replay.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "demo.sh: the live demo creates network namespaces and TAP devices: run it as root" >&2
  echo "         (scripts/demo-replay.sh runs the offline replay demo without root)" >&2
  exit 2
fi
bash scripts/setup.sh
dotnet build tests/MetalAgent.EndToEnd.Tests -c Release --nologo -v q
dotnet test tests/MetalAgent.EndToEnd.Tests -c Release --no-build --nologo \
  --filter "FullyQualifiedName~LiveDemoTests" --logger "console;verbosity=detailed"
