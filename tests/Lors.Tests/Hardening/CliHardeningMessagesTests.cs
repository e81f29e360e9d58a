// Message shapes: the divergence error names what was not finite; .NET texts are cut to two lines without their
// "Actual value was" tails; demo never deletes a folder it did not fill.
namespace Lors.Tests.Hardening;

public sealed class CliHardeningMessagesTests
{
    [Fact]
    public void TheDivergenceMessageSaysWhatWasNotFinite()
    {
        var loss = new Lors.Train.Training.TrainingDivergedException(3, double.NaN, 0, null).Message;
        Assert.Contains("the loss is NaN", loss);
        Assert.DoesNotContain("gradient norm 0", loss);
        var grad = new Lors.Train.Training.TrainingDivergedException(3, 2.5, double.PositiveInfinity, "/x/checkpoint").Message;
        Assert.Contains("the gradient norm is ∞", grad.Replace("Infinity", "∞"));
        Assert.Contains("loss 2.5 was finite", grad);
        Assert.Contains("/x/checkpoint", grad);
    }

    [Theory]
    [InlineData("Specified argument was out of the range of valid values. (Parameter 'n')\nActual value was -1.", "Specified argument was out of the range of valid values.")]
    [InlineData("one\ntwo\nthree", "one\ntwo")]
    [InlineData("\n\n", "unknown error")]
    public void ErrorTextIsCleanedToTwoLines(string raw, string shown) => Assert.Equal(shown, Lors.Cli.Cli.Clean(raw));

    [Fact]
    public void ADemoOutputFolderWithOtherFilesIsRefusedNotDeleted()
    {
        var dir = CliHardeningHarness.TempDir("demo");
        File.WriteAllText(Path.Combine(dir, "thesis.tex"), "precious");
        CliHardeningHarness.Refused(new BadCase("demo --out a used folder", ["demo", "--out", dir, "--device", "cpu"], ["--out", dir, "thesis.tex"]));
        Assert.Equal("precious", File.ReadAllText(Path.Combine(dir, "thesis.tex")));
    }
}
