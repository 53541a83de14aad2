using System.Globalization;
using System.Net;

namespace MetalAgent.EndToEnd.Tests.Kit;

/// <summary>
/// A test guest: a network namespace that holds the TAP device of one interface (its NIC), configured by
/// real DHCP clients (busybox udhcpc for IPv4, ISC dhclient -6 for IPv6) run in a UTS namespace of their
/// own (<c>unshare --uts</c>), with scripts, lease, pid and resolv.conf files of its own: nothing of the
/// machine's own configuration (hostname, /etc/resolv.conf) is ever written.
/// </summary>
internal sealed class Guest
{
    public Guest(string name, string host, string ns, string device, string stateDirectory, string resolvConf, string ipv4, string? ipv6)
    {
        Name = name;
        Host = host;
        Namespace = ns;
        Device = device;
        StateDirectory = stateDirectory;
        ResolvConf = resolvConf;
        Ipv4 = IPAddress.Parse(ipv4);
        Ipv6 = ipv6 is null ? null : IPAddress.Parse(ipv6);
        Directory.CreateDirectory(stateDirectory);
        WriteScripts();
    }

    /// <summary>The interface (and machine) name in the manifests, e.g. "web-1".</summary>
    public string Name { get; }

    /// <summary>The machine pool (agent) serving it.</summary>
    public string Host { get; }

    public string Namespace { get; }

    /// <summary>The TAP device's name (the agent's port binding).</summary>
    public string Device { get; }

    public string StateDirectory { get; }

    /// <summary>/etc/netns/NAMESPACE/resolv.conf, the guest's own.</summary>
    public string ResolvConf { get; }

    public IPAddress Ipv4 { get; }

    public IPAddress? Ipv6 { get; }

    public string Udhcpc4Script => Path.Combine(StateDirectory, "udhcpc.script");

    public string Dhclient6Script => Path.Combine(StateDirectory, "dhclient6.script");

    /// <summary>Runs udhcpc until it holds a lease (or gives up after a few tries) and returns its output.</summary>
    public Task<CommandResult> Dhcp4Async() => Command.TryRunAsync("ip",
        ["netns", "exec", Namespace, "unshare", "--uts", "busybox", "udhcpc", "-i", Device, "-s", Udhcpc4Script,
         "-q", "-n", "-t", "6", "-T", "1", "-A", "1", "-p", Path.Combine(StateDirectory, "udhcpc.pid"),
         "-O", "mtu", "-O", "staticroutes", "-O", "hostname", "-O", "dns"],
        TimeSpan.FromSeconds(20));

    /// <summary>Runs dhclient -6 once (-1): it stays in the background holding the lease once bound.</summary>
    public Task<CommandResult> Dhcp6Async() => Command.TryRunAsync("ip",
        ["netns", "exec", Namespace, "unshare", "--uts", "dhclient", "-6", "-1", "-v",
         "-cf", Path.Combine(StateDirectory, "dhclient6.conf"), "-sf", Dhclient6Script,
         "-lf", Path.Combine(StateDirectory, "dhclient6.leases"), "-pf", Path.Combine(StateDirectory, "dhclient6.pid"), Device],
        TimeSpan.FromSeconds(30));

    /// <summary>The variables of the last udhcpc "bound" event (ip, mask, router, staticroutes, mtu, dns, hostname...).</summary>
    public Dictionary<string, string> Lease4() => ReadEnv(Path.Combine(StateDirectory, "udhcpc-bound.env"));

    /// <summary>The variables of the last dhclient -6 BOUND6 event.</summary>
    public Dictionary<string, string> Lease6() => ReadEnv(Path.Combine(StateDirectory, "dhclient6-BOUND6.env"));

    /// <summary>The hostname the DHCP script set inside its UTS namespace.</summary>
    public string DhcpHostname() => File.ReadAllText(Path.Combine(StateDirectory, "hostname")).Trim();

    public Task<CommandResult> IpAsync(params string[] args) => Command.TryRunAsync("ip", ["-n", Namespace, .. args]);

    /// <summary>The MAC of the guest's NIC (its side of the TAP).</summary>
    public async Task<string> MacAsync()
    {
        string text = (await IpAsync("-o", "link", "show", "dev", Device)).Stdout;
        int at = text.IndexOf("link/ether ", StringComparison.Ordinal);
        return at < 0 ? throw new InvalidOperationException($"no MAC in: {text}") : text.Substring(at + 11, 17);
    }

    /// <summary>One ping with a one-second wait.</summary>
    public Task<CommandResult> PingOnceAsync(IPAddress target) => Command.TryRunAsync("ip",
        ["netns", "exec", Namespace, "ping", "-n", "-c", "1", "-W", "1", target.ToString()], TimeSpan.FromSeconds(5));

    /// <summary>Pings until one answer comes back, within <paramref name="within"/>.</summary>
    public Task AssertReachesAsync(IPAddress target, TimeSpan within) =>
        Eventually.AssertAsync($"{Name} pings {target}", within, async () =>
        {
            CommandResult r = await PingOnceAsync(target);
            return (r.Ok, r.ToString());
        }, TimeSpan.FromMilliseconds(50));

    /// <summary>Sends <paramref name="count"/> pings (0.2 s apart, each given a second) and asserts none is answered.</summary>
    public async Task AssertDoesNotReachAsync(IPAddress target, int count = 3)
    {
        CommandResult r = await Command.TryRunAsync("ip",
            ["netns", "exec", Namespace, "ping", "-n", "-c", count.ToString(CultureInfo.InvariantCulture), "-i", "0.2", "-W", "1", target.ToString()],
            TimeSpan.FromSeconds(10));
        Assert.True(r.ExitCode == 1, $"{Name} must not reach {target}, but: {r}");
        Assert.Contains(" 0 received", r.Stdout, StringComparison.Ordinal);
    }

    public override string ToString() => Name;

    private static Dictionary<string, string> ReadEnv(string path)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(path))
        {
            return values;
        }
        foreach (string line in File.ReadAllLines(path))
        {
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                values[line[..eq]] = line[(eq + 1)..];
            }
        }
        return values;
    }

    private void WriteScripts()
    {
        // udhcpc passes the lease in its environment; dhclient gives its script only the lease variables,
        // so both scripts carry this guest's paths written into them.
        File.WriteAllText(Udhcpc4Script, $$"""
            #!/bin/sh
            # udhcpc event script of test guest {{Name}}: applies the lease to $interface in the guest's namespace
            # and records it. Writes only under {{StateDirectory}} and to the guest's own {{ResolvConf}}.
            state='{{StateDirectory}}'
            for v in interface ip mask subnet router staticroutes mtu dns hostname serverid lease; do
              eval "val=\${$v-}"; echo "$v=$val"
            done > "$state/udhcpc-$1.env"
            case "$1" in
              deconfig)
                ip -4 addr flush dev "$interface"
                ip link set "$interface" up
                ;;
              bound|renew)
                ip -4 addr flush dev "$interface"
                ip -4 route flush dev "$interface"
                ip addr add "$ip/${mask:-32}" dev "$interface"
                if [ -n "${mtu-}" ]; then ip link set "$interface" mtu "$mtu"; fi
                if [ -n "${staticroutes-}" ]; then
                  # RFC 3442: when classless routes are given, the router option is ignored.
                  set -- $staticroutes
                  while [ $# -ge 2 ]; do
                    if [ "$2" = 0.0.0.0 ]; then ip route replace "$1" dev "$interface"
                    else ip route replace "$1" via "$2" dev "$interface" onlink; fi
                    shift 2
                  done
                else
                  for r in ${router-}; do ip route replace default via "$r" dev "$interface" onlink; break; done
                fi
                : > '{{ResolvConf}}'
                for d in ${dns-}; do echo "nameserver $d" >> '{{ResolvConf}}'; done
                if [ -n "${hostname-}" ]; then hostname "$hostname"; fi
                hostname > "$state/hostname"
                ;;
            esac
            exit 0

            """);
        File.WriteAllText(Dhclient6Script, $$"""
            #!/bin/sh
            # dhclient -6 script of test guest {{Name}}: applies the IA_NA address and records the lease.
            state='{{StateDirectory}}'
            env | grep -E '^(reason|interface|new_ip6_|new_dhcp6_|new_max_life|new_preferred_life)' | sort > "$state/dhclient6-$reason.env"
            case "$reason" in
              PREINIT6) ip link set "$interface" up ;;
              BOUND6|RENEW6|REBIND6|REBOOT6)
                if [ -n "${new_ip6_address-}" ]; then ip -6 addr replace "$new_ip6_address/${new_ip6_prefixlen:-128}" dev "$interface"; fi
                ;;
            esac
            exit 0

            """);
        File.SetUnixFileMode(Udhcpc4Script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(Dhclient6Script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.WriteAllText(Path.Combine(StateDirectory, "dhclient6.conf"), "# empty: defaults only, not the machine's /etc/dhcp/dhclient.conf\n");
    }
}
