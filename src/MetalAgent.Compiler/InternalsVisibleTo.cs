[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("MetalAgent.Model.Tests")]
