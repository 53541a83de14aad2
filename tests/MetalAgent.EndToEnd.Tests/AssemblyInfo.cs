using System.Runtime.Versioning;

// Network namespaces, TAP devices and the DHCP clients exist on Linux only.
[assembly: SupportedOSPlatform("linux")]
