using CsCheck;

namespace MetalAgent.Tables.Tests;

/// <summary>Runs CsCheck generators from fixed seeds so property tests are reproducible run to run;
/// on a failure, hands the failing seed to CsCheck's Sample so the case is shrunk and reported.</summary>
internal static class DeterministicCheck
{
    public static void Sample<T>(Gen<T> gen, Action<T> assert, ulong seed, int iter)
    {
        for (int i = 0; i < iter; i++)
        {
            var pcg = new PCG((uint)i, seed);
            string caseSeed = pcg.ToString();
            T value = gen.Generate(pcg, null!, out _);
            try
            {
                assert(value);
            }
            catch (Exception)
            {
                // Re-run from the failing seed through CsCheck: it tries that case first, shrinks with more
                // random cases and throws with the smallest failing input and its seed.
                gen.Sample(assert, seed: caseSeed, iter: 1000, threads: 1);
                throw;
            }
        }
    }
}
