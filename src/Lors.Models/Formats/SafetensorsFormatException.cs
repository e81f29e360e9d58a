// The one error type for malformed or inconsistent safetensors files and sharded checkpoints.
// The message always starts with the file (or folder) and, where one is involved, the tensor.
namespace Lors.Models.Formats;

public sealed class SafetensorsFormatException : Exception
{
    /// <summary>The file or checkpoint folder at fault.</summary>
    public string FilePath { get; }

    /// <summary>The tensor at fault, or null when the problem is not about one tensor.</summary>
    public string? TensorName { get; }

    public SafetensorsFormatException(string filePath, string? tensorName, string problem, Exception? inner = null)
        : base(Compose(filePath, tensorName, problem), inner)
    {
        FilePath = filePath;
        TensorName = tensorName;
    }

    private static string Compose(string filePath, string? tensorName, string problem) =>
        tensorName is null ? $"{filePath}: {problem}" : $"{filePath}: tensor '{tensorName}': {problem}";
}
