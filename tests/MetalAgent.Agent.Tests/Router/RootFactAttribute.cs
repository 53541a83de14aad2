using Xunit.Abstractions;
using Xunit.Sdk;

namespace MetalAgent.Agent.Tests.Router;

/// <summary>A fact that needs root (network namespaces, veth pairs, AF_PACKET); skipped for other users.</summary>
[XunitTestCaseDiscoverer("MetalAgent.Agent.Tests.Router.RootFactDiscoverer", "MetalAgent.Agent.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class RootFactAttribute : FactAttribute
{
}

/// <summary>Discovers <see cref="RootFactAttribute"/> tests, skipping them when not running as root.</summary>
public sealed class RootFactDiscoverer(IMessageSink sink) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            yield return new XunitSkippedDataRowTestCase(sink, discoveryOptions.MethodDisplayOrDefault(),
                discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, "needs root: creates network namespaces, veth pairs and AF_PACKET sockets");
        }
        else
        {
            yield return new XunitTestCase(sink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod);
        }
    }
}
