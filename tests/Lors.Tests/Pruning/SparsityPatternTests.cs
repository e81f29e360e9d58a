// SparsityPattern parsing and validation.
using Lors.Train.Pruning;

namespace Lors.Tests.Pruning;

public class SparsityPatternTests
{
    [Theory]
    [InlineData("2:4", 2, 4)]
    [InlineData(" 4:8 ", 4, 8)]
    public void ParsesNM(string text, int n, int m)
    {
        var p = Assert.IsType<SparsityPattern.NM>(SparsityPattern.Parse(text));
        Assert.Equal((n, m), (p.N, p.M));
        Assert.Equal(0.5, p.Ratio);
        Assert.Equal($"{n}:{m}", p.ToString());
    }

    [Theory]
    [InlineData("0.5", 0.5)]
    [InlineData("50%", 0.5)]
    [InlineData("0.7", 0.7)]
    public void ParsesRatios(string text, double ratio) =>
        Assert.Equal(ratio, Assert.IsType<SparsityPattern.Unstructured>(SparsityPattern.Parse(text)).Value, 12);

    [Theory]
    [InlineData("0")]
    [InlineData("1")]
    [InlineData("1.5")]
    [InlineData("-0.2")]
    [InlineData("100%")]
    public void RejectsRatiosOutsideOpenUnitInterval(string text)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => SparsityPattern.Parse(text));
        Assert.Equal("ratio", e.ParamName);
        Assert.Contains("(0, 1)", e.Message);
    }

    [Theory]
    [InlineData("4:4")]
    [InlineData("0:4")]
    [InlineData("5:4")]
    [InlineData("1:1")]
    public void RejectsDegenerateNM(string text) => Assert.Throws<ArgumentOutOfRangeException>(() => SparsityPattern.Parse(text));

    [Theory]
    [InlineData("two:four")]
    [InlineData("half")]
    [InlineData("")]
    public void RejectsGarbage(string text) => Assert.Throws<FormatException>(() => SparsityPattern.Parse(text));

    [Fact]
    public void ValidateNamesTheMatrixAndArgument()
    {
        var e = Assert.Throws<ArgumentException>(() => new SparsityPattern.NM(2, 8).Validate(36, "model.layers.0.mlp.down_proj.weight"));
        Assert.Equal("pattern", e.ParamName);
        Assert.Contains("down_proj", e.Message);
        Assert.Contains("36", e.Message);
    }

    [Fact]
    public void ZerosForIsExactOnDecimals() => Assert.Equal(3, SparsityPattern.ZerosFor(0.3, 10));
}
