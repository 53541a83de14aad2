using System.Reflection;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace MetalAgent.Backends.Linux.Tests;

/// <summary>Marks a test class whose tests need root (network namespaces, TAP, AF_PACKET).</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = true)]
public sealed class RequiresRootAttribute : Attribute
{
    public const string Reason = "needs root: creates network namespaces, veth pairs, TAP devices and AF_PACKET sockets";

    public static bool IsRoot => Environment.IsPrivilegedProcess;
}

/// <summary>A fact skipped when its class is marked <see cref="RequiresRootAttribute"/> and the tests do not run as root.</summary>
[XunitTestCaseDiscoverer("MetalAgent.Backends.Linux.Tests.LinuxFactDiscoverer", "MetalAgent.Backends.Linux.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class LinuxFactAttribute : FactAttribute
{
}

/// <summary>Discovers <see cref="LinuxFactAttribute"/> tests, skipping root-only classes for other users.</summary>
public sealed class LinuxFactDiscoverer : IXunitTestCaseDiscoverer
{
    private readonly IMessageSink _sink;

    public LinuxFactDiscoverer(IMessageSink sink) => _sink = sink;

    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        Type type = testMethod.TestClass.Class.ToRuntimeType();
        bool needsRoot = type.GetCustomAttribute<RequiresRootAttribute>(inherit: true) is not null;
        if (needsRoot && !RequiresRootAttribute.IsRoot)
        {
            yield return new XunitSkippedDataRowTestCase(_sink, discoveryOptions.MethodDisplayOrDefault(),
                discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, RequiresRootAttribute.Reason);
        }
        else
        {
            yield return new XunitTestCase(_sink, discoveryOptions.MethodDisplayOrDefault(),
                discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod);
        }
    }
}
