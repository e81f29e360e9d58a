// Generation: the KV cache gives exactly the uncached tokens under greedy decoding; sampling is seeded.
using Lors.Models.Generation;
using Lors.Models.Llama;
using Lors.Models.Tokenization;

namespace Lors.Tests.Models;

public sealed class GenerationTests
{
    private static readonly Lazy<(LlamaModel model, Tokenizer tok)> Fixture = new(() => (LlamaModel.Load(RepoPaths.TinyModel), Tokenizer.Load(RepoPaths.TinyModel)));

    [Fact]
    public void CachedGreedyEqualsUncachedGreedy()
    {
        var (model, tok) = Fixture.Value;
        var prompt = tok.Encode("The jury said");
        var cached = Generator.Generate(model, prompt, new SamplingOptions { MaxNewTokens = 24 }).ToArray();
        var uncached = Generator.Generate(model, prompt, new SamplingOptions { MaxNewTokens = 24, UseCache = false }).ToArray();
        Assert.Equal(24, cached.Length);
        Assert.Equal(uncached, cached);
    }

    [Fact]
    public void SamplingIsReproducibleForASeedAndTopKOneIsGreedy()
    {
        var (model, tok) = Fixture.Value;
        var prompt = tok.Encode("In the morning");
        var o = new SamplingOptions { MaxNewTokens = 12, Temperature = 0.9f, TopK = 40, TopP = 0.95f, Seed = 7 };
        Assert.Equal(Generator.Generate(model, prompt, o).ToArray(), Generator.Generate(model, prompt, o).ToArray());
        var greedy = Generator.Generate(model, prompt, new SamplingOptions { MaxNewTokens = 12 }).ToArray();
        var topOne = Generator.Generate(model, prompt, new SamplingOptions { MaxNewTokens = 12, Temperature = 1.3f, TopK = 1, Seed = 3 }).ToArray();
        Assert.Equal(greedy, topOne);
    }

    [Fact]
    public void StopsAtAStopToken()
    {
        var (model, tok) = Fixture.Value;
        var prompt = tok.Encode("The");
        var first = Generator.Generate(model, prompt, new SamplingOptions { MaxNewTokens = 5 }).ToArray();
        var stopped = Generator.Generate(model, prompt, new SamplingOptions { MaxNewTokens = 5, StopTokens = [first[1]] }).ToArray();
        Assert.Equal(first[..2], stopped);
    }

    [Fact]
    public void UnknownTokenIdIsAClearError()
    {
        var (model, _) = Fixture.Value;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Generator.Generate(model, [0, 99999], new SamplingOptions()).ToArray());
        Assert.Contains("99999", e.Message);
    }
}
