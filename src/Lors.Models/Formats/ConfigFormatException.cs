// Error for an invalid config.json / generation_config.json: names the file and, where one is at fault, the field.
namespace Lors.Models.Formats;

public sealed class ConfigFormatException : Exception
{
    public string FilePath { get; }
    /// <summary>The JSON field at fault (dotted for nested ones, e.g. "rope_scaling.factor"), or null.</summary>
    public string? Field { get; }

    public ConfigFormatException(string filePath, string? field, string problem, Exception? inner = null)
        : base(field is null ? $"{filePath}: {problem}" : $"{filePath}: field '{field}': {problem}", inner)
    {
        FilePath = filePath;
        Field = field;
    }
}
