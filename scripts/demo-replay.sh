#!/usr/bin/env bash
# Sets up the machine, then replays the bundled sample capture: frames from VM web-1 on host-a
# (ARP for its gateway, traffic to a local VM, to a VM on another host, to the internet, and a few
# that must be dropped) go through a pipeline built from data/samples/host-a.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
dotnet build src/MetalAgent.Agent -c Release --nologo -v q
agent=(dotnet src/MetalAgent.Agent/bin/Release/net10.0/metalagent.dll)
out=out/replay
rm -rf "$out"

echo "== validate and compile the host state"
"${agent[@]}" validate --state data/samples/host-a.json
"${agent[@]}" compile --state data/samples/host-a.json | head -40

echo
echo "== replay data/samples/host-a-web-1.pcap into port web-1"
"${agent[@]}" replay --state data/samples/host-a.json --in data/samples/host-a-web-1.pcap --port web-1 --out "$out"

echo
for f in "$out"/*.pcap; do
  echo "== tcpdump -nr $f"
  tcpdump -nr "$f" 2>/dev/null
done
