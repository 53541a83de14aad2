namespace MetalAgent.Agent.Router;

public enum RouterVerdictKind : byte
{
    /// <summary>Send the frame out of <see cref="RouterVerdict.Port"/>.</summary>
    Forward = 0,
    /// <summary>Drop it (the worker returns the buffer and counts the reason).</summary>
    Drop,
    /// <summary>The pipeline keeps the buffer: the frame waits for its next hop's MAC.</summary>
    Kept,
}

/// <summary>What the router decided about one frame.</summary>
public readonly record struct RouterVerdict(RouterVerdictKind Kind, int Port, RouterDropReason Reason)
{
    public static RouterVerdict Forward(int port) => new(RouterVerdictKind.Forward, port, RouterDropReason.None);

    public static RouterVerdict Drop(RouterDropReason reason) => new(RouterVerdictKind.Drop, -1, reason);

    public static RouterVerdict Kept => new(RouterVerdictKind.Kept, -1, RouterDropReason.None);
}
