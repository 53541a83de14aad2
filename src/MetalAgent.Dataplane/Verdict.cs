namespace MetalAgent.Dataplane;

public enum VerdictKind : byte
{
    /// <summary>Keep going to the next stage.</summary>
    Continue = 0,
    Drop,
    /// <summary>Send out of <see cref="Verdict.Port"/>.</summary>
    Forward,
    /// <summary>An encapsulated frame for the uplink <see cref="Verdict.Port"/> whose gateway MAC is not
    /// resolved yet: the worker holds it (bounded, briefly) and sends it once the MAC is known.</summary>
    AwaitGateway,
}

/// <summary>What a stage decided about a packet.</summary>
public readonly struct Verdict
{
    public readonly VerdictKind Kind;
    public readonly DropReason Reason;
    public readonly int Port;

    private Verdict(VerdictKind kind, DropReason reason, int port)
    {
        Kind = kind;
        Reason = reason;
        Port = port;
    }

    public static Verdict Continue => default;

    public static Verdict Drop(DropReason reason) => new(VerdictKind.Drop, reason, -1);

    public static Verdict Forward(int port) => new(VerdictKind.Forward, DropReason.None, port);

    public static Verdict AwaitGateway(int port) => new(VerdictKind.AwaitGateway, DropReason.None, port);

    public override string ToString() => Kind switch
    {
        VerdictKind.Drop => "drop " + DropReasons.Name(Reason),
        VerdictKind.Forward => "forward " + Port,
        VerdictKind.AwaitGateway => "await gateway " + Port,
        _ => "continue",
    };
}
