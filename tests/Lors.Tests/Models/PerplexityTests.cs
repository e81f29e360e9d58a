// Perplexity of the fixture model by the fixtures' protocol must equal Hugging Face's reference within 0.1%.
using Lors.Models.Evaluation;
using Lors.Models.Llama;
using Lors.Models.Tokenization;

namespace Lors.Tests.Models;

public sealed class PerplexityTests
{
    [Theory]
    [InlineData("test", 61.2253)]
    [InlineData("valid", 65.1647)]
    public void MatchesTransformersOnBrown(string split, double reference)
    {
        var tok = Tokenizer.Load(RepoPaths.TinyModel);
        using var model = LlamaModel.Load(RepoPaths.TinyModel);
        var stream = tok.Encode(File.ReadAllText(RepoPaths.Brown(split)), addSpecialTokens: false);
        var r = Perplexity.Evaluate(model, stream, 256, batch: 8);
        Assert.Equal((stream.Length - 1) / 256, r.Windows);
        Assert.True(Math.Abs(r.Perplexity - reference) / reference < 1e-3, $"brown.{split}: perplexity {r.Perplexity:F4}, transformers {reference}");
    }

    [Fact]
    public void TooShortTextIsAClearError()
    {
        using var model = LlamaModel.Load(RepoPaths.TinyModel);
        var e = Assert.Throws<ArgumentException>(() => Perplexity.Evaluate(model, [1, 2, 3], 256));
        Assert.Contains("too few", e.Message);
    }
}
