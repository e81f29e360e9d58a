// ILGPU builds kernel launchers in a dynamic assembly named "ILGPURuntime"; it must see our internal kernel
// argument structs (Layout, ReduceArgs, ...), or every launch fails with "Access is denied".
using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("ILGPURuntime")]
