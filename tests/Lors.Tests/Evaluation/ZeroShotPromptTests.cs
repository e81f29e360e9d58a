// Prompts, continuations and gold indices built from the fixtures, checked against strings derived by hand from the
// harness's task YAMLs and utils (doc_to_text, doc_to_choice, doc_to_target, target_delimiter " ").
using Lors.Models.Evaluation.Tasks;

namespace Lors.Tests.Evaluation;

public sealed class ZeroShotPromptTests
{
    private static TaskDoc Doc(string task, int i) => ZeroShotEvaluator.LoadDocs(ZeroShotTask.Get(task), ZeroShotPaths.Data)[i];

    private static void AssertShared(TaskDoc d, string context, string[] choices, int gold)
    {
        Assert.Equal(choices, d.Choices);
        Assert.Equal(choices.Select(c => (context, " " + c)), d.Requests);
        Assert.Equal(gold, d.Gold);
    }

    [Fact]
    public void BoolQ() => AssertShared(Doc("boolq", 0),
        "In some courts the jury may submit written questions to the judge, who decides whether to ask them of a witness.\nQuestion: is the jury allowed to question witnesses?\nAnswer:",
        ["no", "yes"], 1);

    [Fact]
    public void Rte() => AssertShared(Doc("rte", 0),
        "The grand jury commented on a number of other topics, among them the Atlanta and Fulton County purchasing departments.\nQuestion: The grand jury discussed purchasing departments. True or False?\nAnswer:",
        ["True", "False"], 0);

    [Fact]
    public void HellaSwagCapitalizesCtxB() => AssertShared(Doc("hellaswag", 0),
        "Roof shingle removal: A man is sitting on a roof. He",
        ["is using wrap to wrap a pair of skis.", "is ripping level tiles off.", "is holding a rubik's cube.", "starts pulling up roofing on a roof."], 3);

    [Fact]
    public void HellaSwagPreprocessesWikiHowArtifacts()
    {
        // capitalize() lowers the rest of ctx_b; " [title]" becomes ". "; [header]/[step]/[substeps] vanish, leaving
        // double spaces that one pass of "  " -> " " folds; the strip runs before the bracket removal, so an ending
        // that starts with "[substeps] " keeps a leading space.
        AssertShared(Doc("hellaswag", 1),
            "Home and Garden: How to plant a tree. Choose a spot. Pick a place with sun. Dig a hole twice as wide as the root ball. Then place the tree in the hole",
            [" Fill the hole with soil and water it well.", "Throw the tree over the fence. and leave.", "Paint the tree blue.", "Sing to the tree until it grows."], 0);
        // An empty ctx_b leaves a trailing space that the strip removes.
        Assert.Equal("Cooking: A woman cracks two eggs into a bowl.", Doc("hellaswag", 2).Requests[0].Context);
    }

    [Theory]
    [InlineData("  a [title] b ", "a. b")]
    [InlineData("x [header] y [step] z", "x y z")]
    [InlineData("[a]b[c]", "b")]
    [InlineData("a   b", "a  b")] // one left-to-right pass, as Python's str.replace
    public void HellaSwagPreprocess(string input, string expected) => Assert.Equal(expected, HellaSwag.Preprocess(input));

    [Theory]
    [InlineData("he", "He")]
    [InlineData("THEN the Tree", "Then the tree")]
    [InlineData("", "")]
    public void PythonCapitalize(string input, string expected) => Assert.Equal(expected, HellaSwag.Capitalize(input));

    [Fact]
    public void WinoGrandePutsTheOptionInTheContextAndScoresTheRest()
    {
        var d = Doc("winogrande", 0);
        Assert.Equal([("Sarah was a much better surgeon than Maria so Sarah", " always got the harder cases."),
                      ("Sarah was a much better surgeon than Maria so Maria", " always got the harder cases.")], d.Requests);
        Assert.Equal(0, d.Gold);
    }

    [Fact]
    public void ArcUsesTheAnswerKeysPositionAmongNumericLabels() => AssertShared(Doc("arc_easy", 1),
        "Question: Which object is the best conductor of electricity?\nAnswer:", ["a wax crayon", "a plastic spoon", "a rubber eraser", "an iron nail"], 3);

    [Fact]
    public void ArcChallenge() => AssertShared(Doc("arc_challenge", 0),
        "Question: George wants to warm his hands quickly by rubbing them. Which skin surface will produce the most heat?\nAnswer:",
        ["dry palms", "wet palms", "palms covered with oil", "palms covered with lotion"], 0);

    [Fact]
    public void OpenBookQaStripsTheAnswerKeysLeadingSpace() => AssertShared(Doc("openbookqa", 1),
        "There is most likely going to be fog around:", ["a marsh", "a tundra", "the plains", "a desert"], 0);

    [Fact]
    public void Piqa() => AssertShared(Doc("piqa", 1), "Question: To cut a cake evenly,\nAnswer:", ["use a knife warmed in hot water.", "use a spoon frozen in ice."], 0);

    [Fact]
    public void AccNormCountsCharactersNotBytesOrUtf16Units()
    {
        Assert.Equal(4, ZeroShotTask.CharLength("café"));   // 5 bytes in UTF-8
        Assert.Equal(3, ZeroShotTask.CharLength("a😀b"));   // 4 UTF-16 units, 6 bytes
    }

    [Fact]
    public void ArgMaxTakesTheFirstMaximumAsNumpyDoes()
    {
        Assert.Equal(1, ZeroShotEvaluator.ArgMax([-3.0, -1.0, -1.0]));
        Assert.Equal(2, ZeroShotEvaluator.ArgMax([-3.0, -1.0, double.NaN]));
    }

    [Fact]
    public void StderrIsTheSampleStdOverSqrtN()
    {
        // [1, 0, 1, 1]: mean 0.75, sample variance 0.25, stderr sqrt(0.25 / 4) = 0.25.
        Assert.Equal(0.25, ZeroShotEvaluator.Stderr([1.0, 0, 1, 1])!.Value, 12);
        Assert.Null(ZeroShotEvaluator.Stderr([1.0]));
    }

    [Fact]
    public void TheReportedMetricsFollowTheHarness()
    {
        var norm = ZeroShotTask.All.Where(t => t.ReportsAccNorm).Select(t => t.Name);
        Assert.Equal(["hellaswag", "arc_easy", "arc_challenge", "openbookqa", "piqa"], norm);
        Assert.Equal(["validation", "validation", "validation", "validation", "test", "test", "test", "validation"], ZeroShotTask.All.Select(t => t.Split));
    }
}
