using CsCheck;
using MetalAgent.Tables.Classifier;

namespace MetalAgent.Tables.Tests.Classifier;

/// <summary>Random rule sets and keys: the compiled tables answer exactly like <see cref="LinearClassifier"/>.</summary>
public sealed class ClassifierPropertyTests
{
    // Addresses come from a few /8 and /16 neighbourhoods so that prefixes nest and overlap.
    private static readonly Gen<uint> s_address4 = Gen.Select(Gen.UInt[0, 3], Gen.UInt[0, 3], Gen.UInt,
        (a, b, low) => (a << 30) | (b << 20) | (low & 0xFFFFF));

    private static readonly Gen<byte> s_length4 = Gen.Frequency(
        (1, Gen.Const((byte)0)), (1, Gen.Const((byte)32)), (4, Gen.Byte[0, 32]));

    private static readonly Gen<UInt128> s_address6 = Gen.Select(Gen.UInt[0, 3], Gen.UInt[0, 3], Gen.UInt128,
        (a, b, low) => ((UInt128)a << 126) | ((UInt128)b << 60) | (low & ((UInt128.One << 58) - 1)));

    private static readonly Gen<byte> s_length6 = Gen.Frequency(
        (1, Gen.Const((byte)0)), (1, Gen.Const((byte)128)), (1, Gen.Byte[1, 8]), (1, Gen.Byte[56, 72]), (4, Gen.Byte[0, 128]));

    private static readonly Gen<ushort> s_port = Gen.Frequency(
        (2, Gen.OneOf<ushort>(0, 22, 53, 80, 443, 1023, 1024, 8080, 65535)), (1, Gen.UShort[0, 2000]), (1, Gen.UShort));

    private static readonly Gen<(ushort Lo, ushort Hi)> s_portRange = Gen.Frequency(
        (2, Gen.Const<(ushort, ushort)>((0, 65535))),
        (2, s_port.Select(p => (p, p))),
        (2, Gen.Select(s_port, s_port, (a, b) => a <= b ? (a, b) : (b, a))));

    private static readonly Gen<(byte Value, byte Mask)> s_protocol = Gen.Frequency(
        (2, Gen.Const<(byte, byte)>((0, 0))),
        (3, Gen.OneOf<byte>(1, 6, 17, 132).Select(p => (p, (byte)0xFF))),
        (1, Gen.Select(Gen.Byte, Gen.Byte, (v, m) => (v, m))));

    private static readonly Gen<ClassifierRule4> s_rule4 = Gen.Select(s_address4, s_length4, s_address4, s_length4,
        Gen.Select(s_portRange, s_portRange, s_protocol, Gen.Int[-3, 30], Gen.UInt),
        (src, srcLength, dst, dstLength, rest) => new ClassifierRule4(src, srcLength, dst, dstLength,
            rest.Item1.Lo, rest.Item1.Hi, rest.Item2.Lo, rest.Item2.Hi, rest.Item3.Value, rest.Item3.Mask, rest.Item4, rest.Item5));

    private static readonly Gen<ClassifierRule6> s_rule6 = Gen.Select(s_address6, s_length6, s_address6, s_length6,
        Gen.Select(s_portRange, s_portRange, s_protocol, Gen.Int[-3, 30], Gen.UInt),
        (src, srcLength, dst, dstLength, rest) => new ClassifierRule6(src, srcLength, dst, dstLength,
            rest.Item1.Lo, rest.Item1.Hi, rest.Item2.Lo, rest.Item2.Hi, rest.Item3.Value, rest.Item3.Mask, rest.Item4, rest.Item5));

    private static readonly Gen<FlowKey4> s_randomKey4 = Gen.Select(s_address4, s_address4, s_port, s_port, Gen.OneOf<byte>(0, 1, 6, 17, 132, 255),
        (src, dst, sport, dport, protocol) => new FlowKey4(src, dst, sport, dport, protocol));

    private static readonly Gen<FlowKey6> s_randomKey6 = Gen.Select(s_address6, s_address6, s_port, s_port, Gen.OneOf<byte>(0, 1, 6, 17, 132, 255),
        (src, dst, sport, dport, protocol) => new FlowKey6(src, dst, sport, dport, protocol));

    /// <summary>A key inside rule <c>rules[pick]</c> (random host bits, port and protocol bits the mask leaves free),
    /// or on one of its edges, or just past one.</summary>
    private static Gen<FlowKey4> KeyNear(ClassifierRule4[] rules) =>
        Gen.Select(Gen.Int[0, rules.Length - 1], Gen.UInt, Gen.UInt, Gen.Int[0, 3], Gen.Byte,
            (pick, srcBits, dstBits, edge, protocolBits) =>
            {
                ClassifierRule4 r = rules[pick];
                uint srcMask = ClassifierRule4.PrefixMaskOf(r.SrcPrefixLength);
                uint dstMask = ClassifierRule4.PrefixMaskOf(r.DstPrefixLength);
                byte protocol = (byte)((r.Protocol & r.ProtocolMask) | (protocolBits & ~r.ProtocolMask));
                uint src = (r.SrcPrefix & srcMask) | (srcBits & ~srcMask);
                uint dst = (r.DstPrefix & dstMask) | (dstBits & ~dstMask);
                ushort sport = (ushort)(r.SrcPortLo + (srcBits % (uint)(r.SrcPortHi - r.SrcPortLo + 1)));
                ushort dport = (ushort)(r.DstPortLo + (dstBits % (uint)(r.DstPortHi - r.DstPortLo + 1)));
                return edge switch
                {
                    0 => new FlowKey4(src, dst, sport, dport, protocol),
                    1 => new FlowKey4(r.SrcPrefix & srcMask, (r.DstPrefix & dstMask) | ~dstMask, r.SrcPortLo, r.DstPortHi, protocol),
                    2 => new FlowKey4((r.SrcPrefix & srcMask) - 1, dst, (ushort)(r.SrcPortHi + 1), dport, protocol),
                    _ => new FlowKey4(src, ((r.DstPrefix & dstMask) | ~dstMask) + 1, sport, (ushort)(r.DstPortLo - 1), (byte)(protocol ^ 1)),
                };
            });

    private static Gen<FlowKey6> KeyNear(ClassifierRule6[] rules) =>
        Gen.Select(Gen.Int[0, rules.Length - 1], Gen.UInt128, Gen.UInt128, Gen.Int[0, 3], Gen.Byte,
            (pick, srcBits, dstBits, edge, protocolBits) =>
            {
                ClassifierRule6 r = rules[pick];
                UInt128 srcMask = ClassifierRule6.PrefixMaskOf(r.SrcPrefixLength);
                UInt128 dstMask = ClassifierRule6.PrefixMaskOf(r.DstPrefixLength);
                byte protocol = (byte)((r.Protocol & r.ProtocolMask) | (protocolBits & ~r.ProtocolMask));
                UInt128 src = (r.SrcPrefix & srcMask) | (srcBits & ~srcMask);
                UInt128 dst = (r.DstPrefix & dstMask) | (dstBits & ~dstMask);
                ushort sport = (ushort)(r.SrcPortLo + (uint)(srcBits % (uint)(r.SrcPortHi - r.SrcPortLo + 1)));
                ushort dport = (ushort)(r.DstPortLo + (uint)(dstBits % (uint)(r.DstPortHi - r.DstPortLo + 1)));
                return edge switch
                {
                    0 => new FlowKey6(src, dst, sport, dport, protocol),
                    1 => new FlowKey6(r.SrcPrefix & srcMask, (r.DstPrefix & dstMask) | ~dstMask, r.SrcPortLo, r.DstPortHi, protocol),
                    2 => new FlowKey6((r.SrcPrefix & srcMask) - 1, dst, (ushort)(r.SrcPortHi + 1), dport, protocol),
                    _ => new FlowKey6(src, ((r.DstPrefix & dstMask) | ~dstMask) + 1, sport, (ushort)(r.DstPortLo - 1), (byte)(protocol ^ 1)),
                };
            });

    private static Gen<(ClassifierRule4[] Rules, FlowKey4[] Keys)> Case4(int maxRules) =>
        s_rule4.Array[0, maxRules].SelectMany(rules => rules.Length == 0
            ? s_randomKey4.Array[1, 20].Select(keys => (rules, keys))
            : Gen.Select(s_randomKey4.Array[0, 40], KeyNear(rules).Array[1, 120], (a, b) => (rules, (FlowKey4[])[.. a, .. b])));

    private static Gen<(ClassifierRule6[] Rules, FlowKey6[] Keys)> Case6(int maxRules) =>
        s_rule6.Array[0, maxRules].SelectMany(rules => rules.Length == 0
            ? s_randomKey6.Array[1, 20].Select(keys => (rules, keys))
            : Gen.Select(s_randomKey6.Array[0, 40], KeyNear(rules).Array[1, 120], (a, b) => (rules, (FlowKey6[])[.. a, .. b])));

    private static void Check4((ClassifierRule4[] Rules, FlowKey4[] Keys) c)
    {
        var table = Classifier4Table.Build(c.Rules);
        var batched = new int[c.Keys.Length];
        table.Classify(c.Keys, batched);
        for (int i = 0; i < c.Keys.Length; i++)
        {
            int expected = LinearClassifier.Classify(c.Rules, in c.Keys[i]);
            Assert.Equal(expected, table.Classify(in c.Keys[i]));
            Assert.Equal(expected, batched[i]);
        }
    }

    private static void Check6((ClassifierRule6[] Rules, FlowKey6[] Keys) c)
    {
        var table = Classifier6Table.Build(c.Rules);
        var batched = new int[c.Keys.Length];
        table.Classify(c.Keys, batched);
        for (int i = 0; i < c.Keys.Length; i++)
        {
            int expected = LinearClassifier.Classify(c.Rules, in c.Keys[i]);
            Assert.Equal(expected, table.Classify(in c.Keys[i]));
            Assert.Equal(expected, batched[i]);
        }
    }

    [Fact]
    public void IPv4_small_rule_sets_match_the_linear_scan() => ClassifierTestData.SampleDeterministic(Case4(24), Check4, 300, 41);

    [Fact]
    public void IPv4_large_rule_sets_match_the_linear_scan() => ClassifierTestData.SampleDeterministic(Case4(400), Check4, 60, 42);

    [Fact]
    public void IPv6_small_rule_sets_match_the_linear_scan() => ClassifierTestData.SampleDeterministic(Case6(24), Check6, 300, 61);

    [Fact]
    public void IPv6_large_rule_sets_match_the_linear_scan() => ClassifierTestData.SampleDeterministic(Case6(400), Check6, 60, 62);
}
