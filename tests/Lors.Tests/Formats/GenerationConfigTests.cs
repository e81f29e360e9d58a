// generation_config.json: the fixture, absence, sampling fields and type errors.
using Lors.Models.Formats;

namespace Lors.Tests.Formats;

public class GenerationConfigTests
{
    [Fact]
    public void TinyModelGenerationConfig()
    {
        var g = GenerationConfig.Load(FmtPaths.TinyModel)!;
        Assert.Equal(0, g.BosTokenId);
        Assert.Equal([1], g.EosTokenIds);
        Assert.Equal(2, g.PadTokenId);
        Assert.False(g.DoSample);
        Assert.Equal((1.0, 50, 1.0), (g.Temperature, g.TopK, g.TopP));
        Assert.Null(g.MaxNewTokens);
    }

    [Fact]
    public void AbsentFileGivesNull()
    {
        using var tmp = new TempDir();
        Assert.Null(GenerationConfig.Load(tmp.Path));
        Assert.Null(GenerationConfig.Load(tmp.File("generation_config.json")));
    }

    [Fact]
    public void SamplingFields()
    {
        var g = GenerationConfig.Parse("""{"do_sample":true,"temperature":0.6,"top_p":0.9,"top_k":0,"eos_token_id":[128001,128009],"max_new_tokens":64}""", "g.json");
        Assert.True(g.DoSample);
        Assert.Equal((0.6, 0, 0.9, 64), (g.Temperature, g.TopK, g.TopP, g.MaxNewTokens));
        Assert.Equal([128001, 128009], g.EosTokenIds);
    }

    [Theory]
    [InlineData("""{"temperature":"hot"}""", "temperature")]
    [InlineData("""{"do_sample":"yes"}""", "do_sample")]
    [InlineData("""{"top_p":1.5}""", "top_p")]
    [InlineData("""{"eos_token_id":[1,null]}""", "eos_token_id[1]")]
    public void BadFields(string json, string field)
    {
        var ex = Assert.Throws<ConfigFormatException>(() => GenerationConfig.Parse(json, "gen.json"));
        Assert.Equal(field, ex.Field);
        Assert.Contains("gen.json", ex.Message);
    }
}
