// Element types a safetensors file may hold (the subset LoRS reads and writes) and their names and sizes.
// Names follow the safetensors spec ("F32", "BF16", "BOOL", ...).
namespace Lors.Models.Formats;

public enum SafeDType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool }

public static class SafeDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int Size(SafeDType d) => d switch
    {
        SafeDType.F64 or SafeDType.I64 => 8,
        SafeDType.F32 or SafeDType.I32 => 4,
        SafeDType.F16 or SafeDType.BF16 or SafeDType.I16 => 2,
        SafeDType.I8 or SafeDType.U8 or SafeDType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(d), d, "unknown SafeDType"),
    };

    /// <summary>The spec name of <paramref name="d"/>, e.g. "BF16".</summary>
    public static string ToName(SafeDType d) => d switch
    {
        SafeDType.F64 => "F64", SafeDType.F32 => "F32", SafeDType.F16 => "F16", SafeDType.BF16 => "BF16",
        SafeDType.I64 => "I64", SafeDType.I32 => "I32", SafeDType.I16 => "I16", SafeDType.I8 => "I8",
        SafeDType.U8 => "U8", SafeDType.Bool => "BOOL",
        _ => throw new ArgumentOutOfRangeException(nameof(d), d, "unknown SafeDType"),
    };

    /// <summary>Parses a spec name (case-sensitive, as the spec writes them); false for anything else.</summary>
    public static bool TryParse(string? name, out SafeDType d)
    {
        switch (name)
        {
            case "F64": d = SafeDType.F64; return true;
            case "F32": d = SafeDType.F32; return true;
            case "F16": d = SafeDType.F16; return true;
            case "BF16": d = SafeDType.BF16; return true;
            case "I64": d = SafeDType.I64; return true;
            case "I32": d = SafeDType.I32; return true;
            case "I16": d = SafeDType.I16; return true;
            case "I8": d = SafeDType.I8; return true;
            case "U8": d = SafeDType.U8; return true;
            case "BOOL": d = SafeDType.Bool; return true;
            default: d = default; return false;
        }
    }

    /// <summary>Parses a spec name; throws <see cref="FormatException"/> for an unknown one.</summary>
    public static SafeDType Parse(string name) =>
        TryParse(name, out var d) ? d : throw new FormatException($"unknown safetensors dtype '{name}'");
}
