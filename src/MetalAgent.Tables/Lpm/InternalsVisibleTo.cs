using System.Runtime.CompilerServices;

// The tests compare the Poptrie arrays of tables built from reordered routes.
[assembly: InternalsVisibleTo("MetalAgent.Tables.Tests")]
