namespace MetalAgent.Agent.Router;

/// <summary>The router's counters: written by its one worker thread (plain increments), read by anyone
/// with <see cref="Volatile"/> reads.</summary>
public sealed class RouterCounters
{
    private static readonly RouterDropReason[] s_reasons = Enum.GetValues<RouterDropReason>();

    private readonly long[] _drops = new long[256];
    private readonly long[] _rx = new long[2];
    private readonly long[] _tx = new long[2];
    private long _decapsulated;
    private long _encapsulated;
    private long _answered;
    private long _solicitations;

    public void Drop(RouterDropReason reason) => _drops[(int)reason]++;

    public void Rx(int port) => _rx[port]++;

    public void Tx(int port) => _tx[port]++;

    public void Decapsulated() => _decapsulated++;

    public void Encapsulated() => _encapsulated++;

    /// <summary>An ARP request, solicitation or echo request for the router was answered.</summary>
    public void Answered() => _answered++;

    /// <summary>An ARP request or neighbor solicitation went out to resolve a next hop.</summary>
    public void Solicited() => _solicitations++;

    public long Drops(RouterDropReason reason) => Volatile.Read(ref _drops[(int)reason]);

    public long RxPackets(int port) => Volatile.Read(ref _rx[port]);

    public long TxPackets(int port) => Volatile.Read(ref _tx[port]);

    public long DecapsulatedPackets => Volatile.Read(ref _decapsulated);

    public long EncapsulatedPackets => Volatile.Read(ref _encapsulated);

    public long AnsweredPackets => Volatile.Read(ref _answered);

    public long Solicitations => Volatile.Read(ref _solicitations);

    /// <summary>"decap=… encap=… drops: reason=n, …" for logs (not for the packet path).</summary>
    public string Summary()
    {
        var b = new System.Text.StringBuilder();
        b.Append(System.Globalization.CultureInfo.InvariantCulture,
            $"rx underlay={RxPackets(RouterPipeline.UnderlayPort)} internet={RxPackets(RouterPipeline.InternetPort)} decapsulated={DecapsulatedPackets} encapsulated={EncapsulatedPackets} answered={AnsweredPackets} solicitations={Solicitations}");
        bool first = true;
        foreach (RouterDropReason reason in s_reasons)
        {
            long n = Drops(reason);
            if (reason != RouterDropReason.None && n > 0)
            {
                b.Append(first ? " drops: " : ", ").Append(reason).Append('=').Append(n);
                first = false;
            }
        }
        return b.ToString();
    }
}
