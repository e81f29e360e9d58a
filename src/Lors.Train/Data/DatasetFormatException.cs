// Bad dataset input: names the file, the record (or line) and the field, so the user can fix it.
namespace Lors.Train.Data;

public sealed class DatasetFormatException : Exception
{
    public DatasetFormatException(string filePath, string location, string? field, string problem, Exception? inner = null)
        : base($"{filePath}: {location}{(field is null ? "" : $", field \"{field}\"")}: {problem}", inner)
    {
        FilePath = filePath;
        Location = location;
        Field = field;
    }

    public string FilePath { get; }
    /// <summary>e.g. "line 12" or "record 3" (both 1-based).</summary>
    public string Location { get; }
    public string? Field { get; }
}
