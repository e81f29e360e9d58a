// Every CUDA kernel must compile to PTX (sm_80, as ILGPU targets on the H200); this needs no GPU, so it runs
// everywhere and catches constructs the PTX backend rejects long before the GPU machine sees the code.
using System.Reflection;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime.Cuda;

namespace Lors.Tests.Cuda;

public sealed class PtxCompileTests
{
    [Fact]
    public void AllKernelsCompileToPtx()
    {
        using var ctx = Context.Create(b => b.Cuda().EnableAlgorithms());
        var arch = new CudaArchitecture(8, 0);
        var backend = new PTXBackend(ctx, new CudaCapabilityContext(arch), arch, CudaInstructionSet.ISA_80, null!);
        var kernels = typeof(Lors.Tensors.Tensor).Assembly.GetTypes()
            .Where(t => t.Namespace == "Lors.Tensors.Cuda.Kernels" && t.Name.EndsWith("Kernels"))
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => m.ReturnType == typeof(void) && m.GetParameters().Any(p => p.ParameterType.Name.StartsWith("ArrayView")))
            .ToList();
        Assert.True(kernels.Count >= 30, $"found only {kernels.Count} kernels");
        var failures = new List<string>();
        foreach (var m in kernels)
        {
            // Kernels whose first parameter is the index are launched auto-grouped; the others use explicit groups.
            var ep = m.GetParameters()[0].ParameterType == typeof(Index1D)
                ? EntryPointDescription.FromImplicitlyGroupedKernel(m)
                : EntryPointDescription.FromExplicitlyGroupedKernel(m);
            try { backend.Compile(ep, default); }
            catch (Exception e) { failures.Add($"{m.DeclaringType!.Name}.{m.Name}: {e.Message}"); }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
