// Where a tensor lives: the host CPU or a CUDA device.
namespace Lors.Tensors;

public enum DeviceKind { Cpu, Cuda }

public readonly record struct Device(DeviceKind Kind, int Index = 0)
{
    public static readonly Device Cpu = new(DeviceKind.Cpu);
    public static Device Cuda(int index = 0) => new(DeviceKind.Cuda, index);

    public bool IsCpu => Kind == DeviceKind.Cpu;
    public bool IsCuda => Kind == DeviceKind.Cuda;

    public override string ToString() => Kind == DeviceKind.Cpu ? "cpu" : $"cuda:{Index}";

    /// <summary>Parses "cpu", "cuda", "cuda:N" or "auto" (CUDA when a backend for it is available).</summary>
    public static Device Parse(string s)
    {
        var t = s.Trim().ToLowerInvariant();
        if (t == "cpu") return Cpu;
        if (t == "auto") return Backends.IsCudaAvailable ? Cuda() : Cpu;
        if (t == "cuda") return Cuda();
        if (t.StartsWith("cuda:") && int.TryParse(t.AsSpan(5), out var i) && i >= 0) return Cuda(i);
        throw new ArgumentException($"unknown device '{s}' (expected cpu, cuda, cuda:N or auto)");
    }
}
