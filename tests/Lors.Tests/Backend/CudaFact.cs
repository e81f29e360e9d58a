// [BackendFact] marks the shared suite's tests and skips them, with the reason, in a CUDA suite class (one
// implementing ICudaSuite) on a machine without CUDA. (Plain CUDA-only facts use [CudaFact] in ../CudaFact.cs.)
using Lors.Tensors;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Lors.Tests.Backend;

/// <summary>Marks a BackendSuite subclass whose device is CUDA.</summary>
public interface ICudaSuite { }

[XunitTestCaseDiscoverer("Lors.Tests.Backend.BackendFactDiscoverer", "Lors.Tests")]
public sealed class BackendFactAttribute : FactAttribute { }

public sealed class BackendFactDiscoverer(IMessageSink sink) : IXunitTestCaseDiscoverer
{
    public IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions options, ITestMethod method, IAttributeInfo attr)
    {
        var display = options.MethodDisplayOrDefault();
        var displayOptions = options.MethodDisplayOptionsOrDefault();
        var cls = method.TestClass.Class.ToRuntimeType();
        if (typeof(ICudaSuite).IsAssignableFrom(cls) && !Backends.IsCudaAvailable)
            return [new XunitSkippedDataRowTestCase(sink, display, displayOptions, method, "no CUDA device on this machine")];
        return [new XunitTestCase(sink, display, displayOptions, method)];
    }
}
