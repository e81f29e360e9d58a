// LlamaForCausalLM: token embedding, decoder layers, final RMSNorm and the LM head (tied or not).
// Forward maps ids [B, T] to logits [B, T, V]; Loss applies Hugging Face's shift (predict token t+1 from t).
using Lors.Autograd;
using Lors.Models.Formats;
using Lors.Tensors;

namespace Lors.Models.Llama;

public sealed partial class LlamaModel : IDisposable
{
    // Rotate-half RoPE tables [rows, D] (F32, F64 for F64 models), built for the positions used so far and grown
    // on demand up to max_position_embeddings: a config may declare 2^31-1 positions that no run ever reaches.
    private Tensor _cos, _sin;
    private readonly object _ropeLock = new();
    private const int InitialRopeRows = 4096;

    internal LlamaModel(LlamaConfig config, Variable embed, LlamaLayer[] layers, Variable norm, Variable lmHead, DType computeType, Device device)
    {
        Config = config;
        Embed = embed;
        Layers = layers;
        Norm = norm;
        LmHead = lmHead;
        ComputeType = computeType;
        Device = device;
        (_cos, _sin) = BuildRope(Math.Min(Math.Max(config.MaxPositionEmbeddings, 1), InitialRopeRows));
    }

    private (Tensor Cos, Tensor Sin) BuildRope(int rows)
    {
        long n = (long)rows * Config.HeadDim;
        if (n > Array.MaxLength)
            throw new ArgumentException($"LlamaModel: a RoPE table of {rows} positions x head_dim {Config.HeadDim} is too large");
        var cos = new float[n];
        var sin = new float[n];
        Rope.CosSin(Config, rows, cos, sin);
        using var _ = TensorScope.Detached();
        var ropeType = ComputeType == DType.F64 ? DType.F64 : DType.F32;
        return (Tensor.FromArray(cos, [rows, Config.HeadDim], Device, ropeType), Tensor.FromArray(sin, [rows, Config.HeadDim], Device, ropeType));
    }

    /// <summary>Views of the RoPE tables for positions [start, start + t); grows the tables (doubling) when needed.</summary>
    private (Tensor Cos, Tensor Sin) RopeRows(int start, int t)
    {
        long end = (long)start + t;
        if (end > Config.MaxPositionEmbeddings)
            throw new ArgumentException($"LlamaModel: positions {start}..{end - 1} exceed max_position_embeddings {Config.MaxPositionEmbeddings}");
        lock (_ropeLock)
        {
            if (end > _cos.Shape[0])
            {
                int rows = (int)Math.Min(Config.MaxPositionEmbeddings, Math.Max(end, 2L * _cos.Shape[0]));
                var (cos, sin) = BuildRope(rows);
                // Views handed out earlier hold their own reference to the old storage (refcounted).
                _cos.Dispose();
                _sin.Dispose();
                (_cos, _sin) = (cos, sin);
            }
            // Views read again by RoPE's backward: owned by the caller's scope, like the activations.
            return (_cos.Narrow(0, start, t), _sin.Narrow(0, start, t));
        }
    }

    public LlamaConfig Config { get; }
    /// <summary>Parameters are settable so a caller can swap in trainable leaves over the same data.</summary>
    public Variable Embed { get; set; }
    public IReadOnlyList<LlamaLayer> Layers { get; }
    public Variable Norm { get; set; }
    /// <summary>The output projection [V, C]; the same variable as Embed when embeddings are tied.</summary>
    public Variable LmHead { get; set; }
    public DType ComputeType { get; }
    public Device Device { get; }

    /// <summary>Wraps each decoder layer's forward, e.g. with activation checkpointing. Null runs layers directly.</summary>
    public Func<LlamaLayer, Variable, Tensor, Tensor, Variable>? LayerRunner { get; set; }

    /// <summary>Every linear of every decoder layer, with its layer and projection.</summary>
    public IEnumerable<(LlamaLayer layer, Projection projection, ILinear linear)> Linears() =>
        Layers.SelectMany(l => Projections.All.Select(p => (l, p, l[p])));

    /// <summary>
    /// All base parameters by Hugging Face name (the LM head omitted when tied). A linear stored compressed
    /// (Compressed24Linear) has no Variable: it throws naming itself, or is left out with skipCompressed.
    /// </summary>
    public IEnumerable<(string name, Variable value)> Parameters(bool skipCompressed = false)
    {
        yield return ("model.embed_tokens.weight", Embed);
        foreach (var l in Layers)
        {
            yield return ($"model.layers.{l.Index}.input_layernorm.weight", l.InputNorm);
            yield return ($"model.layers.{l.Index}.post_attention_layernorm.weight", l.PostAttentionNorm);
            foreach (var p in Projections.All)
                if (!(skipCompressed && l[p] is Compressed24Linear)) yield return (Projections.ParameterName(l.Index, p), l[p].Weight);
        }
        yield return ("model.norm.weight", Norm);
        if (!Config.TieWordEmbeddings) yield return ("lm_head.weight", LmHead);
    }

    public long ParameterCount => Parameters(skipCompressed: true).Sum(p => p.value.Data.Numel) +
        Linears().Select(x => x.linear).OfType<Compressed24Linear>().Sum(c => (long)c.OutFeatures * c.InFeatures);

    /// <summary>
    /// ids I32 [B, T] to the final hidden states [B, T, C]. startPosition offsets RoPE (with a cache). With
    /// layerScopes under no-grad (inference on large batches), each layer's intermediates are freed when it returns
    /// and only the running hidden state is kept, instead of every layer's until the caller's scope ends.
    /// </summary>
    public Variable Hidden(Tensor ids, KvCache? cache = null, bool layerScopes = false)
    {
        if (ids.Rank != 2 || ids.DType != DType.I32)
            throw new ArgumentException($"LlamaModel: ids must be i32 [B, T], got {ids.DType.Name()} {Tensor.ShapeString(ids.Shape)}");
        int t = ids.Shape[1], start = cache?.Length ?? 0;
        // Views read again by RoPE's backward: owned by the caller's scope, like the activations.
        var (cos, sin) = RopeRows(start, t);
        // One scope over the stack: each layer's output is freed once the backward of the next layer has read it
        // (with layerScopes under no-grad, as soon as the next layer has run).
        var hidden = GraphScope.Run(() =>
        {
            var x = F.Embedding(ids, Embed);
            foreach (var layer in Layers)
                x = layerScopes && !GradMode.IsEnabled ? ForwardScoped(layer, x, cos, sin, cache)
                    : cache is null && LayerRunner is not null ? LayerRunner(layer, x, cos, sin) : layer.Forward(x, cos, sin, cache);
            return F.RmsNorm(x, Norm, (float)Config.RmsNormEps);
        });
        cache?.Advance(t);
        return hidden;
    }

    private static Variable ForwardScoped(LlamaLayer layer, Variable x, Tensor cos, Tensor sin, KvCache? cache)
    {
        Tensor y;
        using (var scope = TensorScope.Begin())
            y = scope.Keep(layer.Forward(x, cos, sin, cache).Data);
        x.Data.Dispose(); // the previous layer's output (or the embedding): nothing reads it again without a graph
        return new Variable(y);
    }

    /// <summary>Logits [B, T, V] (F32 on the CPU).</summary>
    public Variable Forward(Tensor ids, KvCache? cache = null) => F.Linear(Hidden(ids, cache), LmHead);

    /// <summary>
    /// Mean next-token cross-entropy: logits at t predict labels at t+1 (labels [B, T], -100 = ignored), as
    /// Hugging Face computes it with labels = input_ids.
    /// </summary>
    public Variable Loss(Tensor ids, Tensor? labels = null, int ignoreIndex = -100)
    {
        labels ??= ids;
        if (!labels.Shape.AsSpan().SequenceEqual(ids.Shape))
            throw new ArgumentException($"Loss: labels {Tensor.ShapeString(labels.Shape)} must match ids {Tensor.ShapeString(ids.Shape)}");
        int b = ids.Shape[0], t = ids.Shape[1];
        var targets = ShiftedTargets(labels, ignoreIndex);
        var tgt = Tensor.FromArray(targets, [targets.Length], Device); // read again in backward: owned by the caller's scope
        // In a scope, the [N, V] logits are freed as soon as the cross-entropy backward has read them.
        return GraphScope.Run(() =>
        {
            var hidden = Hidden(ids);
            // Only positions 0..T-2 predict something; drop the last before the (large) LM head.
            var used = t > 1 ? F.Reshape(F.Permute(hidden, 1, 0, 2), t, b, -1) : hidden;
            var h2 = SliceLeadingPositions(used, t - 1, b);
            var logits = F.Linear(h2, LmHead);
            return F.CrossEntropy(logits, tgt, ignoreIndex);
        });
    }

    /// <summary>Targets in [position, batch] order for positions 0..T-2: labels[b, t+1].</summary>
    private static int[] ShiftedTargets(Tensor labels, int ignoreIndex)
    {
        int b = labels.Shape[0], t = labels.Shape[1];
        var l = labels.ToIntArray();
        var r = new int[Math.Max(0, t - 1) * b];
        for (int p = 0; p < t - 1; p++)
            for (int i = 0; i < b; i++) r[p * b + i] = l[i * t + p + 1];
        return r;
    }

    private static Variable SliceLeadingPositions(Variable tbc, int keep, int b)
    {
        // tbc is [T, B, C] contiguous: its first keep*B rows are positions 0..keep-1.
        var flat = F.Reshape(tbc, -1, tbc.Shape[^1]);
        return F.Rows(flat, 0, keep * b);
    }

    public void Dispose()
    {
        _cos.Dispose();
        _sin.Dispose();
        foreach (var l in Layers)
            foreach (var p in Projections.All)
                if (l[p] is Compressed24Linear c) c.Dispose();
        foreach (var (_, v) in Parameters(skipCompressed: true)) { v.Data.Dispose(); v.ZeroGrad(); }
    }
}
