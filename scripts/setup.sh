#!/usr/bin/env bash
# Installs what MetalAgent needs on a Debian 12 machine and restores NuGet packages.
# Safe to run twice: apt skips installed packages, restore is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  libpcap0.8 libpcap0.8-dev   # SharpPcap (pcap replay, capture files)
  tcpdump                     # reading the pcaps replay writes
  iproute2                    # namespaces, veth and TAP for the Linux backends
  busybox isc-dhcp-client iputils-ping ethtool  # end-to-end guests: udhcpc, dhclient -6, ping, offloads
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK is required (https://dot.net)"; exit 1; }
dotnet restore MetalAgent.sln --nologo -v q
echo "setup: done"
