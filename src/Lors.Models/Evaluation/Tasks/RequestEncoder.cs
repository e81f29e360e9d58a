// Tokenizes (context, continuation) pairs as the harness's HFLM does: trailing whitespace of the context moves to
// the continuation, context+continuation is encoded whole and split at the context's own token count (_encode_pair);
// an empty context is conditioned on the prefix token (BOS, else EOS). BOS follows the tokenizer's own default
// (recent harness releases) or is left out (addBos = false, as releases before 0.4.5 did for causal models).
using Lors.Models.Tokenization;

namespace Lors.Models.Evaluation.Tasks;

/// <summary>Token ids of one scored pair: the log-likelihood of Continuation given Context is summed.</summary>
public sealed record LoglikelihoodRequest(int[] Context, int[] Continuation);

public sealed class RequestEncoder
{
    private readonly Tokenizer _tokenizer;
    private readonly bool _addBos;
    private readonly string? _prefixText;

    public RequestEncoder(Tokenizer tokenizer, bool addBos = true)
    {
        _tokenizer = tokenizer;
        _addBos = addBos;
        PrefixTokenId = tokenizer.BosTokenId ?? tokenizer.EosTokenId
            ?? throw new ArgumentException("the tokenizer has neither a BOS nor an EOS token: nothing to condition an empty context on");
        _prefixText = tokenizer.Decode([PrefixTokenId], skipSpecialTokens: false);
    }

    /// <summary>The token an empty context is replaced by (the harness's prefix_token_id).</summary>
    public int PrefixTokenId { get; }

    /// <summary>tok_encode: special tokens as the tokenizer adds them, unless the text already starts with the BOS text.</summary>
    public int[] TokEncode(string text)
    {
        bool special = _addBos && !(_prefixText is { Length: > 0 } p && text.StartsWith(p, StringComparison.Ordinal));
        return _tokenizer.Encode(text, addSpecialTokens: special);
    }

    public LoglikelihoodRequest Encode(string context, string continuation)
    {
        if (context.Length == 0)
        {
            var cont = _tokenizer.Encode(continuation, addSpecialTokens: false);
            if (cont.Length == 0) return new LoglikelihoodRequest([PrefixTokenId], []);
            return cont[0] != PrefixTokenId ? new LoglikelihoodRequest([PrefixTokenId], cont) : new LoglikelihoodRequest(cont[..1], cont[1..]);
        }
        int kept = context.TrimEnd().Length; // Python's rstrip(): the spaces go with the continuation
        if (kept < context.Length)
        {
            continuation = context[kept..] + continuation;
            context = context[..kept];
        }
        var whole = TokEncode(context + continuation);
        var ctx = TokEncode(context);
        // The harness slices whole_enc at len(context_enc) even where the boundary merges differently.
        var contEnc = ctx.Length <= whole.Length ? whole[ctx.Length..] : [];
        return new LoglikelihoodRequest(ctx, contEnc);
    }
}
