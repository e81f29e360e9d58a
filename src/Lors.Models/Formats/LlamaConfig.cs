// The Llama architecture as described by a Hugging Face config.json, in the transformers 4.x form
// (rope_theta, rope_scaling, torch_dtype) or the 5.x form (rope_parameters, dtype). Parsing lives in
// LlamaConfigReader, saving in LlamaConfigWriter.
using System.Text.Json.Nodes;

namespace Lors.Models.Formats;

/// <summary>RoPE scaling. Type is "linear", "llama3" or "default"; the llama3 fields are null otherwise.</summary>
public sealed record RopeScaling
{
    public required string Type { get; init; }
    public double Factor { get; init; } = 1.0;
    public double? LowFreqFactor { get; init; }
    public double? HighFreqFactor { get; init; }
    public int? OriginalMaxPositionEmbeddings { get; init; }
}

public sealed record LlamaConfig
{
    private int? _numKeyValueHeads;
    private int? _headDim;

    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int NumAttentionHeads { get; init; }

    /// <summary>Defaults to NumAttentionHeads (plain multi-head attention).</summary>
    public int NumKeyValueHeads { get => _numKeyValueHeads ?? NumAttentionHeads; init => _numKeyValueHeads = value; }

    /// <summary>Defaults to HiddenSize / NumAttentionHeads, as transformers does when head_dim is absent.</summary>
    public int HeadDim
    {
        get => _headDim ?? (NumAttentionHeads > 0 ? HiddenSize / NumAttentionHeads : 0);
        init => _headDim = value;
    }

    internal bool HasExplicitKeyValueHeads => _numKeyValueHeads is not null;

    /// <summary>True when head_dim was given explicitly (then hidden need not be heads x head_dim).</summary>
    public bool HasExplicitHeadDim => _headDim is not null;

    // Defaults are those of transformers' LlamaConfig.
    public double RmsNormEps { get; init; } = 1e-6;
    public int MaxPositionEmbeddings { get; init; } = 2048;
    public double RopeTheta { get; init; } = 10000.0;
    /// <summary>Null for plain RoPE ("default" in the file is read as null).</summary>
    public RopeScaling? RopeScaling { get; init; }
    public bool TieWordEmbeddings { get; init; }
    public int? BosTokenId { get; init; } = 1;
    public int[] EosTokenIds { get; init; } = [2];
    public int? PadTokenId { get; init; }
    /// <summary>"bfloat16", "float32", ... from torch_dtype (4.x) or dtype (5.x); null if absent.</summary>
    public string? TorchDType { get; init; }
    public bool AttentionBias { get; init; }
    public bool MlpBias { get; init; }
    public string HiddenAct { get; init; } = "silu";
    public string ModelType { get; init; } = "llama";

    /// <summary>The parsed file, kept so Save can write back fields this record does not model. Not modified.</summary>
    public JsonObject? Raw { get; init; }

    /// <summary>True when the source used the 5.x form (rope_parameters); Save keeps that form.</summary>
    public bool UsesRopeParameters => Raw?.ContainsKey("rope_parameters") == true;

    /// <summary>Loads config.json from a file or from a folder holding one.</summary>
    public static LlamaConfig Load(string pathOrDir)
    {
        string path = Directory.Exists(pathOrDir) ? Path.Combine(pathOrDir, "config.json") : pathOrDir;
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: config file not found", path);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses config JSON; <paramref name="sourceName"/> is used in error messages.</summary>
    public static LlamaConfig Parse(string json, string sourceName) => LlamaConfigReader.Parse(json, sourceName);

    /// <summary>Checks the invariants the model code relies on; throws ConfigFormatException naming the field.</summary>
    public void Validate(string sourceName) => LlamaConfigReader.Validate(this, sourceName);

    /// <summary>Writes config.json (temp file + rename), keeping unknown fields of <see cref="Raw"/>.</summary>
    public void Save(string path)
    {
        Validate(path);
        AtomicFile.WriteText(path, LlamaConfigWriter.ToJson(this));
    }
}
