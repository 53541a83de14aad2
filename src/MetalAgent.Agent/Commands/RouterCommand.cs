using System.CommandLine;
using MetalAgent.Agent.Router;
using MetalAgent.Agent.Sync;
using MetalAgent.Backends;
using MetalAgent.Backends.Linux;
using MetalAgent.Packets;
using Microsoft.Extensions.Logging;

namespace MetalAgent.Agent.Commands;

/// <summary>
/// <c>metalagent router</c>: IronCore's underlay router as a userspace program over two AF_PACKET
/// devices (for kernels without ip6tnl/ipip, and for test topologies). The kernel's side of both
/// devices should carry no addresses: the router answers ARP and neighbor discovery for its own.
/// </summary>
internal static class RouterCommand
{
    public static Command Create()
    {
        var name = new Option<string>("--name") { Description = "router name sent to the control plane", DefaultValueFactory = _ => "router" };
        // A string: System.CommandLine has no built-in Uri conversion.
        var server = new Option<string>("--server") { Description = "control plane URL (RouterView.Watch), e.g. https://10.0.0.1:8443", Required = true };
        var ca = new Option<FileInfo?>("--ca") { Description = "PEM CA that signed the control plane's certificate" };
        var cert = new Option<FileInfo?>("--cert") { Description = "PEM client certificate (role router)" };
        var key = new Option<FileInfo?>("--key") { Description = "PEM key of --cert" };
        var underlayDevice = new Option<string>("--underlay-device") { Description = "underlay link device", Required = true };
        var underlayNetns = new Option<string?>("--underlay-netns") { Description = "network namespace holding --underlay-device" };
        var underlayAddress = new Option<string>("--underlay-address") { Description = "the router's underlay IPv6 address, e.g. fc00:ffff::1", Required = true };
        var underlayGateway = new Option<string>("--underlay-gateway") { Description = "underlay next hop (IPv6), resolved by ND", Required = true };
        var underlayGatewayMac = new Option<string?>("--underlay-gateway-mac") { Description = "pinned MAC of the underlay next hop" };
        var underlayMtu = new Option<int>("--underlay-mtu") { Description = "largest encapsulated IPv6 packet (0: not checked)" };
        var internetDevice = new Option<string>("--internet-device") { Description = "internet link device", Required = true };
        var internetNetns = new Option<string?>("--internet-netns") { Description = "network namespace holding --internet-device" };
        var internetAddresses = new Option<string[]>("--internet-address")
        {
            Description = "the router's address on the internet link, ADDRESS/LENGTH (repeatable: one IPv4, one IPv6)",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var internetGateways = new Option<string[]>("--internet-gateway")
        {
            Description = "next hop for destinations off the internet link (repeatable: one per family); without it they must be on the link",
            AllowMultipleArgumentsPerToken = true,
        };
        var command = new Command("router", "Run IronCore's underlay router between an underlay and an internet device until SIGTERM")
        {
            name, server, ca, cert, key, underlayDevice, underlayNetns, underlayAddress, underlayGateway, underlayGatewayMac, underlayMtu,
            internetDevice, internetNetns, internetAddresses, internetGateways,
        };
        command.SetAction(async (result, token) =>
        {
            var errors = new List<string>();
            RouterSpec spec = RouterSpec.Parse(
                result.GetValue(underlayAddress)!, result.GetValue(underlayGateway)!, result.GetValue(underlayGatewayMac),
                result.GetValue(internetAddresses) ?? [], result.GetValue(internetGateways) ?? [], result.GetValue(underlayMtu), errors);
            if (!Uri.TryCreate(result.GetValue(server), UriKind.Absolute, out Uri? serverUri) || serverUri.Scheme is not ("http" or "https"))
            {
                errors.Add($"--server {result.GetValue(server)}: expected an http:// or https:// URL");
            }
            // The same TLS material and checks as the agent's sync client: https needs all three files.
            using ClientTlsMaterial? tls = serverUri is null ? null
                : ClientTlsMaterial.TryForServer(serverUri, result.GetValue(ca)?.FullName, result.GetValue(cert)?.FullName, result.GetValue(key)?.FullName, errors);
            if (errors.Count > 0)
            {
                foreach (string error in errors)
                {
                    Console.Error.WriteLine($"router: {error}");
                }
                return 2;
            }
            using ILoggerFactory logging = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true));
            PacketSocketPort? underlayPort = null;
            PacketSocketPort? internetPort = null;
            string side = "--underlay-device";
            try
            {
                underlayPort = new PacketSocketPort("underlay", PortRole.Uplink, result.GetValue(underlayDevice)!, 1, result.GetValue(underlayNetns));
                side = "--internet-device";
                internetPort = new PacketSocketPort("internet", PortRole.Uplink, result.GetValue(internetDevice)!, 1, result.GetValue(internetNetns));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                underlayPort?.Dispose();
                Console.Error.WriteLine($"router: {side}: {e.Message}");
                return 1;
            }
            RouterHost host;
            try
            {
                host = new RouterHost(spec, underlayPort, internetPort, new RouterHostOptions
                {
                    Name = result.GetValue(name)!,
                    Server = serverUri,
                    Tls = tls,
                }, logging);
            }
            catch (Exception e) when (e is ArgumentException or IOException or System.Security.Cryptography.CryptographicException)
            {
                underlayPort.Dispose();
                internetPort.Dispose();
                Console.Error.WriteLine($"router: {e.Message}");
                return 2;
            }
            await using (host)
            {
                string internet = string.Join(", ", result.GetValue(internetAddresses) ?? []);
                RouterLog.Started(logging.CreateLogger("MetalAgent.Router"), result.GetValue(name)!, Addresses.FormatIPv6(spec.UnderlayAddress),
                    Addresses.FormatIPv6(spec.UnderlayGateway), underlayPort.InterfaceName, internet, internetPort.InterfaceName);
                host.Start();
                await RunCommand.WaitForShutdown(token);
            }
            return 0;
        });
        return command;
    }
}
