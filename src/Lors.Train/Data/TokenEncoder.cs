// The slice of a tokenizer the datasets need: text to ids (no special tokens added) and the special ids.
// Kept as a record of delegates so datasets can be tested with synthetic encoders and do not depend on one tokenizer class.
using Lors.Models.Tokenization;

namespace Lors.Train.Data;

/// <param name="Encode">Text to token ids WITHOUT special tokens (the datasets place BOS/EOS themselves).</param>
public sealed record TokenEncoder(Func<string, int[]> Encode, int? BosTokenId, int? EosTokenId, int? PadTokenId)
{
    /// <summary>The id used to fill padded positions: pad, else EOS, else 0 (labels there are -100, so the choice does not matter for the loss).</summary>
    public int PadOrFallback => PadTokenId ?? EosTokenId ?? 0;

    /// <summary>The encoder of a Hugging Face tokenizer (its post-processor's special tokens are not applied).</summary>
    public static TokenEncoder From(Tokenizer tokenizer) =>
        new(text => tokenizer.Encode(text, addSpecialTokens: false), tokenizer.BosTokenId, tokenizer.EosTokenId, tokenizer.PadTokenId);
}
