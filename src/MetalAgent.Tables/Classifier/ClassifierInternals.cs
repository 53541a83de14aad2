using System.Runtime.CompilerServices;

// The classifier tests compare internal structures (build determinism).
[assembly: InternalsVisibleTo("MetalAgent.Tables.Tests")]
