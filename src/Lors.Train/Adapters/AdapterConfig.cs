// What an adapter run is: method, rank, alpha, targets and init; saved beside the adapter weights as JSON.
using System.Text.Json;
using System.Text.Json.Serialization;
using Lors.Models.Llama;

namespace Lors.Train.Adapters;

public enum AdapterMethod
{
    /// <summary>Masked merge recomputed in backward, rearranged adapter gradients (the LoRS method).</summary>
    Lors,
    /// <summary>Plain LoRA: y = x W^T + s (x B^T) A^T; merging fills the zeros of W.</summary>
    Lora,
    /// <summary>Masked LoRA through ordinary autograd: W' = (W + s A B) * M is built and kept for backward.</summary>
    Masked,
    /// <summary>Masked LoRA with each adapted linear checkpointed (W' recomputed in backward by the generic machinery).</summary>
    MaskedCheckpoint,
}

public enum AdapterInit
{
    /// <summary>A = 0, B = top-r right singular vectors of the mean dense gradient dL/dW / gamma (LoRS).</summary>
    Gradient,
    /// <summary>A = 0, B ~ uniform(-1/sqrt(in), 1/sqrt(in)) (the usual LoRA init).</summary>
    Lora,
}

/// <summary>Which adapter gradients a LoRS layer returns (AdapterMethod.Lors only).</summary>
public enum LorsGradient
{
    /// <summary>
    /// The default, as in the authors' implementation: the low-rank path's gradients gA = gy^T (x B^T), gB = (gy A)^T x,
    /// without the mask and without s. They never form the dense out x in gradient, which is where LoRS saves memory.
    /// </summary>
    LowRank,
    /// <summary>
    /// The exact gradient of the masked product: G = (gy^T x) * M, gA = s G B^T, gB = s A^T G. Forms out x in per
    /// layer in backward; for comparison with the default (equals the masked baseline's autograd gradient).
    /// </summary>
    ExactMasked,
}

public sealed record AdapterConfig
{
    public const int CurrentFormatVersion = 1;

    public AdapterMethod Method { get; init; } = AdapterMethod.Lors;
    public int Rank { get; init; } = 16;
    public double Alpha { get; init; } = 16;
    public Projection[] Targets { get; init; } = Projections.All;
    /// <summary>LoRS adapter gradients: LowRank (default, the authors') or ExactMasked (for comparison).</summary>
    public LorsGradient Gradient { get; init; } = LorsGradient.LowRank;
    public AdapterInit Init { get; init; } = AdapterInit.Gradient;
    public int InitSamples { get; init; } = 128;
    public double Gamma { get; init; } = 1;
    public ulong Seed { get; init; }
    public string? BaseModel { get; init; }
    public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>s = alpha / sqrt(r), as ARCHITECTURE.md specifies.</summary>
    [JsonIgnore] public double Scale => Alpha / Math.Sqrt(Rank);

    public void Validate()
    {
        if (Rank < 1) throw new ArgumentOutOfRangeException(nameof(Rank), $"rank must be at least 1, got {Rank}");
        if (!(Alpha > 0) || double.IsInfinity(Alpha)) throw new ArgumentOutOfRangeException(nameof(Alpha), $"alpha must be positive, got {Alpha}");
        if (Targets.Length == 0) throw new ArgumentException("targets: at least one projection must be adapted");
        if (!(Gamma > 0)) throw new ArgumentOutOfRangeException(nameof(Gamma), $"gamma must be positive, got {Gamma}");
        if (InitSamples < 1) throw new ArgumentOutOfRangeException(nameof(InitSamples), $"init samples must be at least 1, got {InitSamples}");
    }

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Parses adapter_config.json; every error is an InvalidDataException naming <paramref name="source"/> and the field.</summary>
    public static AdapterConfig FromJson(string json, string source) => AdapterConfigReader.Parse(json, source);
}
