// Checks config.json against the tensors a checkpoint actually holds, before anything sized by the config is
// allocated: a config claiming 10^8 layers or a vocabulary the embedding does not have fails here, naming the field.
using System.Globalization;
using Lors.Models.Formats;

namespace Lors.Models.Llama;

public sealed partial class LlamaModel
{
    private const string LayerPrefix = "model.layers.";

    /// <summary>Throws ConfigFormatException (naming config.json and the field) when a size in the config disagrees
    /// with the checkpoint. Reads only headers: no tensor data, no allocation proportional to the config.</summary>
    public static void CheckConfigAgainstCheckpoint(LlamaConfig c, HfWeightsReader reader, string configPath)
    {
        ConfigFormatException Bad(string field, string problem) => new(configPath, field, problem);

        // Layers present: the distinct indices of model.layers.{i}.* (bounded by the number of tensors).
        int present = 0;
        string? highest = null;
        foreach (var name in reader.Names)
        {
            if (!name.StartsWith(LayerPrefix, StringComparison.Ordinal)) continue;
            int dot = name.IndexOf('.', LayerPrefix.Length);
            if (dot > LayerPrefix.Length && int.TryParse(name.AsSpan(LayerPrefix.Length, dot - LayerPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int i)
                && i >= present && i < int.MaxValue)
                (present, highest) = (i + 1, name);
        }
        if (c.NumHiddenLayers != present)
            throw Bad("num_hidden_layers", present == 0 ? $"is {c.NumHiddenLayers} but the checkpoint holds no decoder layer tensors"
                : $"is {c.NumHiddenLayers} but the checkpoint holds tensors up to decoder layer {present - 1} ('{highest}')");

        var (embedRows, embedCols) = Shape2(reader, "model.embed_tokens.weight", configPath);
        if (embedRows != c.VocabSize)
            throw Bad("vocab_size", $"is {c.VocabSize} but model.embed_tokens.weight has {embedRows} rows");
        if (embedCols != c.HiddenSize)
            throw Bad("hidden_size", $"is {c.HiddenSize} but model.embed_tokens.weight has {embedCols} columns");
        if (present > 0)
        {
            var (qRows, _) = Shape2(reader, Projections.ParameterName(0, Projection.Q), configPath);
            if (qRows != (long)c.NumAttentionHeads * c.HeadDim)
                throw Bad(c.HasExplicitHeadDim ? "head_dim" : "num_attention_heads",
                    $"num_attention_heads {c.NumAttentionHeads} x head_dim {c.HeadDim} = {(long)c.NumAttentionHeads * c.HeadDim} but q_proj has {qRows} rows");
            var (kRows, _) = Shape2(reader, Projections.ParameterName(0, Projection.K), configPath);
            if (kRows != (long)c.NumKeyValueHeads * c.HeadDim)
                throw Bad("num_key_value_heads", $"num_key_value_heads {c.NumKeyValueHeads} x head_dim {c.HeadDim} = {(long)c.NumKeyValueHeads * c.HeadDim} but k_proj has {kRows} rows");
            var (gRows, _) = Shape2(reader, Projections.ParameterName(0, Projection.Gate), configPath);
            if (gRows != c.IntermediateSize)
                throw Bad("intermediate_size", $"is {c.IntermediateSize} but gate_proj has {gRows} rows");
        }

        bool hasHead = reader.Contains("lm_head.weight");
        if (c.TieWordEmbeddings && hasHead && !SameBytes(reader, "lm_head.weight", "model.embed_tokens.weight"))
            // transformers ties lm_head to the embedding after loading and so ignores this tensor; using it silently
            // or dropping it silently would both surprise someone, so say which file to fix.
            throw Bad("tie_word_embeddings", "is true, but the checkpoint holds an lm_head.weight that differs from model.embed_tokens.weight " +
                "(transformers would ignore it): set it to false to use lm_head.weight, or remove the tensor");
        if (!c.TieWordEmbeddings && !hasHead)
            throw Bad("tie_word_embeddings", "is false but the checkpoint holds no lm_head.weight (set it to true to use the embedding)");

        bool hasAttnBias = reader.Names.Any(n => n.StartsWith(LayerPrefix, StringComparison.Ordinal) && n.Contains(".self_attn.", StringComparison.Ordinal) && n.EndsWith(".bias", StringComparison.Ordinal));
        bool hasMlpBias = reader.Names.Any(n => n.StartsWith(LayerPrefix, StringComparison.Ordinal) && n.Contains(".mlp.", StringComparison.Ordinal) && n.EndsWith(".bias", StringComparison.Ordinal));
        if (c.AttentionBias)
            throw Bad("attention_bias", hasAttnBias ? "is true: attention biases are not supported" : "is true but the checkpoint holds no attention bias tensors");
        if (c.MlpBias)
            throw Bad("mlp_bias", hasMlpBias ? "is true: MLP biases are not supported" : "is true but the checkpoint holds no MLP bias tensors");
    }

    private static (long Rows, long Cols) Shape2(HfWeightsReader reader, string name, string configPath)
    {
        if (!reader.TryFind(name, out _, out var e))
            throw new SafetensorsFormatException(reader.Directory, name, "is missing from the checkpoint");
        if (e.Shape.Length != 2)
            throw new SafetensorsFormatException(reader.Directory, name, $"has shape {e.ShapeText}, expected 2 dimensions");
        return (e.Shape[0], e.Shape[1]);
    }

    private static bool SameBytes(HfWeightsReader reader, string a, string b)
    {
        var (fa, ea) = reader.Find(a);
        var (fb, eb) = reader.Find(b);
        return ea.DType == eb.DType && ea.Shape.SequenceEqual(eb.Shape) && fa.GetBytes(ea).SequenceEqual(fb.GetBytes(eb));
    }
}
