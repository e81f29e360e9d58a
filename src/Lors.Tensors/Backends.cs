// The registry of backends, one per device; the CUDA backend registers itself when it can start.
using Lors.Tensors.Cpu;

namespace Lors.Tensors;

public static class Backends
{
    private static readonly object Gate = new();
    private static readonly Dictionary<Device, IBackend> Instances = new();
    private static Func<int, IBackend?>? _cudaFactory;

    public static IBackend Cpu { get; } = new CpuBackend();

    /// <summary>Set by the CUDA backend's assembly code: creates the backend for a device index, or null without CUDA.</summary>
    public static void RegisterCudaFactory(Func<int, IBackend?> factory) => _cudaFactory = factory;

    public static bool IsCudaAvailable
    {
        get
        {
            try { return TryGet(Device.Cuda(), out _); }
            catch (Exception) { return false; }
        }
    }

    public static IBackend Get(Device device)
    {
        if (device.IsCpu) return Cpu;
        if (TryGet(device, out var b)) return b!;
        throw new NotSupportedException($"device {device} was asked for but no CUDA device is available on this machine");
    }

    public static bool TryGet(Device device, out IBackend? backend)
    {
        if (device.IsCpu) { backend = Cpu; return true; }
        lock (Gate)
        {
            if (Instances.TryGetValue(device, out backend)) return backend is not null;
            EnsureCudaRegistered();
            backend = _cudaFactory?.Invoke(device.Index);
            if (backend is not null) Instances[device] = backend;
            return backend is not null;
        }
    }

    private static void EnsureCudaRegistered()
    {
        if (_cudaFactory is not null) return;
        // The CUDA backend lives in this assembly (Cuda/); it registers through a static hook if present.
        var t = Type.GetType("Lors.Tensors.Cuda.CudaBackend");
        t?.GetMethod("Register", System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)?.Invoke(null, null);
    }
}
