using CsCheck;
using MetalAgent.Dataplane.Flows;

namespace MetalAgent.Dataplane.Tests.Flows;

public class FlowTableTests
{
    private struct Payload
    {
        public int Tag;
    }

    private struct ExpireAll : IFlowExpiry<Payload>
    {
        public long Timeout;

        public bool IsExpired(in FlowKey forward, ref Payload value, long lastSeen, long now) => now - lastSeen >= Timeout;

        public void Removed(in FlowKey forward, ref Payload value)
        {
        }
    }

    private static FlowKey Key(int i, uint zone = 1) =>
        new(zone, 4, 6, (UInt128)(0x0A000000u + (uint)i), (ushort)(1000 + (i % 50000)), (UInt128)0xC6336401u, 80);

    private static FlowKey Translated(int i) =>
        new(0, 4, 6, (UInt128)0xC6336401u, 80, (UInt128)0xCB00710Au, (ushort)(1024 + (i % 60000)));

    [Fact]
    public void A_flow_entry_is_three_cache_lines()
    {
        // Links, state, last-seen and the forward key share the first line; see FlowTable's layout.
        Assert.Equal(192, new FlowTable<FlowState>(64, 1).EntrySize);
    }

    [Fact]
    public void Lookup_with_a_precomputed_hash_and_prefetches_agree_with_plain_lookup()
    {
        var table = new FlowTable<Payload>(4096, 1);
        for (int i = 0; i < 1000; i++)
        {
            table.Insert(0, Key(i), Translated(i), new Payload { Tag = i }, now: 1, out _);
        }
        for (int i = 0; i < 1200; i++)
        {
            FlowKey key = (i & 1) == 0 ? Key(i) : Translated(i);
            ulong hash = key.Hash();
            table.PrefetchBucket(hash);
            table.PrefetchEntry(hash);
            Assert.Equal(table.Lookup(key, out int d0), table.Lookup(key, hash, out int d1));
            Assert.Equal(d0, d1);
            Assert.Equal(i < 1000, table.Lookup(key, hash, out _) >= 0);
        }
    }

    [Fact]
    public void Both_directions_and_both_sides_of_a_translation_find_the_same_flow()
    {
        var table = new FlowTable<Payload>(1024, 1);
        FlowKey forward = Key(1);
        FlowKey reply = Translated(1);
        int id = table.Insert(0, forward, reply, new Payload { Tag = 7 }, now: 1, out InsertOutcome outcome);
        Assert.Equal(InsertOutcome.Created, outcome);
        Assert.Equal(id, table.Lookup(forward, out int d0));
        Assert.Equal(0, d0);
        Assert.Equal(id, table.Lookup(reply, out int d1));
        Assert.Equal(1, d1);
        Assert.Equal(7, table.Value(id).Tag);
        Assert.Equal(-1, table.Lookup(forward.Reversed, out _));
        Assert.Equal(-1, table.Lookup(Key(1, zone: 2), out _));
    }

    [Fact]
    public void A_reply_key_held_by_another_flow_is_refused()
    {
        var table = new FlowTable<Payload>(1024, 1);
        Assert.True(table.Insert(0, Key(1), Translated(5), default, 0, out InsertOutcome first) >= 0);
        Assert.Equal(InsertOutcome.Created, first);
        Assert.Equal(-1, table.Insert(0, Key(2), Translated(5), default, 0, out InsertOutcome second));
        Assert.Equal(InsertOutcome.ReplyTaken, second);
        Assert.Equal(-1, table.Lookup(Key(2), out _));
    }

    [Fact]
    public void Matches_a_dictionary_under_random_inserts_kills_and_sweeps()
    {
        Gen.Int[0, 3].Array[1, 400].Sample(ops =>
        {
            var table = new FlowTable<Payload>(512, 2);
            var reference = new Dictionary<FlowKey, int>();
            long now = 0;
            for (int i = 0; i < ops.Length; i++)
            {
                int k = (i * 7) % 97;
                FlowKey key = Key(k);
                switch (ops[i])
                {
                    case 0:
                    case 1:
                        if (table.Lookup(key, out _) < 0)
                        {
                            int id = table.Insert(i % 2, key, Translated(k), new Payload { Tag = k }, now, out _);
                            Assert.True(id >= 0);
                            reference[key] = k;
                        }
                        break;
                    case 2:
                        int found = table.Lookup(key, out _);
                        if (found >= 0)
                        {
                            table.Kill(found);
                            reference.Remove(key);
                        }
                        break;
                    default:
                        var expiry = new ExpireAll { Timeout = long.MaxValue };
                        table.Sweep(ref expiry, now, 512);
                        table.Quiesced();
                        break;
                }
                now++;
            }
            foreach ((FlowKey key, int tag) in reference)
            {
                int id = table.Lookup(key, out int dir);
                Assert.True(id >= 0, $"missing {key}");
                Assert.Equal(0, dir);
                Assert.Equal(tag, table.Value(id).Tag);
                Assert.Equal(id, table.Lookup(Translated(tag), out _));
            }
            for (int k = 0; k < 97; k++)
            {
                Assert.Equal(reference.ContainsKey(Key(k)), table.Lookup(Key(k), out _) >= 0);
            }
        }, iter: 300);
    }

    [Fact]
    public void Expired_flows_are_removed_and_their_ids_reused_only_after_quiescence()
    {
        var table = new FlowTable<Payload>(64, 1);
        for (int i = 0; i < 64; i++)
        {
            Assert.True(table.Insert(0, Key(i), Translated(i), default, now: 0, out _) >= 0);
        }
        Assert.Equal(-1, table.Insert(0, Key(100), Translated(100), default, 0, out _));
        var expiry = new ExpireAll { Timeout = 10 };
        Assert.Equal(64, table.Sweep(ref expiry, now: 10, budget: 64));
        Assert.Equal(-1, table.Lookup(Key(3), out _));
        // Still in limbo: not reusable yet.
        Assert.Equal(-1, table.Insert(0, Key(100), Translated(100), default, 10, out _));
        table.Quiesced();
        Assert.Equal(-1, table.Insert(0, Key(100), Translated(100), default, 10, out _));
        table.Quiesced();
        Assert.True(table.Insert(0, Key(100), Translated(100), default, 10, out _) >= 0);
        Assert.Equal(1, table.Count);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Concurrent_workers_never_create_a_flow_twice(int run)
    {
        _ = run;
        const int flows = 20_000;
        var table = new FlowTable<Payload>(flows * 2 + 16, 2);
        int[] ids = new int[flows];
        int[] otherIds = new int[flows];
        var t0 = new Thread(() =>
        {
            for (int i = 0; i < flows; i++)
            {
                int id = table.Lookup(Key(i), out _);
                ids[i] = id >= 0 ? id : table.Insert(0, Key(i), Translated(i), new Payload { Tag = i }, 0, out _);
            }
        });
        var t1 = new Thread(() =>
        {
            for (int i = 0; i < flows; i++)
            {
                int id = table.Lookup(Key(i), out _);
                otherIds[i] = id >= 0 ? id : table.Insert(1, Key(i), Translated(i), new Payload { Tag = i }, 0, out _);
            }
        });
        t0.Start();
        t1.Start();
        t0.Join();
        t1.Join();
        for (int i = 0; i < flows; i++)
        {
            Assert.Equal(ids[i], otherIds[i]);
            Assert.Equal(ids[i], table.Lookup(Key(i), out _));
            Assert.Equal(i, table.Value(ids[i]).Tag);
        }
        // The losers of races are dead and get unlinked by a sweep; the live count settles at `flows`.
        var expiry = new ExpireAll { Timeout = long.MaxValue };
        table.Sweep(ref expiry, 0, table.Capacity);
        table.Quiesced();
        table.Quiesced();
        Assert.Equal(flows, table.Count);
    }
}
