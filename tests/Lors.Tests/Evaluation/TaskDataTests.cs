// Reading the tasks' files: parquet written by Parquet.Net in the hub's layout gives the same documents as the JSON
// lines fixtures; bad input (missing task, wrong schema, empty split, label out of range) names the file and row.
using System.Text.Json;
using Lors.Models.Evaluation.Tasks;
using Parquet.Serialization;

namespace Lors.Tests.Evaluation;

public sealed class TaskDataTests : IDisposable
{
    private readonly string _tmp = Path.Combine(Path.GetTempPath(), "lors-zs-" + Guid.NewGuid().ToString("N")[..8]);

    public TaskDataTests() => Directory.CreateDirectory(_tmp);

    public void Dispose() => Directory.Delete(_tmp, true);

    // Column names as the hub's parquet files spell them.
#pragma warning disable IDE1006
    private sealed class HellaSwagRow
    {
        public long ind { get; set; }
        public string activity_label { get; set; } = "";
        public string ctx_a { get; set; } = "";
        public string ctx_b { get; set; } = "";
        public string ctx { get; set; } = "";
        public List<string> endings { get; set; } = [];
        public string source_id { get; set; } = "";
        public string split { get; set; } = "";
        public string split_type { get; set; } = "";
        public string label { get; set; } = "";
    }

    private sealed class ArcChoices
    {
        public List<string> text { get; set; } = [];
        public List<string> label { get; set; } = [];
    }

    private sealed class ArcRow
    {
        public string id { get; set; } = "";
        public string question { get; set; } = "";
        public ArcChoices choices { get; set; } = new();
        public string answerKey { get; set; } = "";
    }

    private sealed class PiqaRow
    {
        public string goal { get; set; } = "";
        public string sol1 { get; set; } = "";
        public long label { get; set; }
    }
#pragma warning restore IDE1006

    private static List<T> FixtureRows<T>(string task, string split) =>
        File.ReadLines(Path.Combine(ZeroShotPaths.Data, task, split + ".jsonl")).Where(l => l.Length > 0)
            .Select(l => JsonSerializer.Deserialize<T>(l)!).ToList();

    private string Write(string relative, string content)
    {
        var path = Path.Combine(_tmp, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    private async Task<string> WriteParquet<T>(string relative, IEnumerable<T> rows)
    {
        var path = Path.Combine(_tmp, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await ParquetSerializer.SerializeAsync(rows, path);
        return path;
    }

    private static void AssertSameDocs(IReadOnlyList<TaskDoc> expected, IReadOnlyList<TaskDoc> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Requests, actual[i].Requests);
            Assert.Equal(expected[i].Choices, actual[i].Choices);
            Assert.Equal(expected[i].Gold, actual[i].Gold);
        }
    }

    [Fact]
    public async Task ParquetInTheHubsLayoutGivesTheSameDocsAsJsonLines()
    {
        // A list column (HellaSwag's endings) and a struct of lists (ARC's choices), in hub shard names and sub-folders.
        await WriteParquet("hellaswag/data/validation-00000-of-00001.parquet", FixtureRows<HellaSwagRow>("hellaswag", "validation"));
        await WriteParquet("arc_easy/ARC-Easy/test-00000-of-00001.parquet", FixtureRows<ArcRow>("arc_easy", "test"));
        await WriteParquet("arc_easy/ARC-Easy/train-00000-of-00001.parquet", FixtureRows<ArcRow>("arc_challenge", "test")); // another split: ignored
        foreach (var name in new[] { "hellaswag", "arc_easy" })
        {
            var task = ZeroShotTask.Get(name);
            AssertSameDocs(ZeroShotEvaluator.LoadDocs(task, ZeroShotPaths.Data), ZeroShotEvaluator.LoadDocs(task, _tmp));
        }
    }

    [Fact]
    public void ShardsAreReadInOrderAndLimitTakesTheFirstDocs()
    {
        var lines = File.ReadAllLines(Path.Combine(ZeroShotPaths.Data, "boolq", "validation.jsonl"));
        Write("boolq/validation-00001-of-00002.jsonl", string.Join("\n", lines[1..]));
        Write("boolq/validation-00000-of-00002.jsonl", lines[0]);
        var task = ZeroShotTask.Get("boolq");
        AssertSameDocs(ZeroShotEvaluator.LoadDocs(task, ZeroShotPaths.Data), ZeroShotEvaluator.LoadDocs(task, _tmp));
        Assert.Equal(2, ZeroShotEvaluator.LoadDocs(task, _tmp, limit: 2).Count);
    }

    [Fact]
    public void AMissingTaskNamesTheFileExpected()
    {
        var e = Assert.Throws<FileNotFoundException>(() => ZeroShotEvaluator.LoadDocs(ZeroShotTask.Get("arc_challenge"), _tmp));
        Assert.Contains(Path.Combine(_tmp, "arc_challenge", "test"), e.Message);
        Assert.Contains(".parquet", e.Message);
        Assert.Contains("ARC-Challenge", e.Message);
    }

    [Fact]
    public void AnEmptySplitIsAnError()
    {
        var f = Write("piqa/validation.jsonl", "\n");
        var e = Assert.Throws<TaskDataException>(() => ZeroShotEvaluator.LoadDocs(ZeroShotTask.Get("piqa"), _tmp));
        Assert.Contains("empty", e.Message);
        Assert.Contains(f, e.Message);
    }

    [Theory]
    [InlineData("boolq", "{\"question\":\"q\",\"passage\":\"p\",\"label\":1}\n{\"question\":\"q\",\"label\":0}", "line 2", "'passage' is missing")]
    [InlineData("boolq", "{\"question\":\"q\",\"passage\":\"p\",\"label\":2}", "line 1", "label 2 is out of range")]
    [InlineData("rte", "{\"sentence1\":\"a\",\"sentence2\":\"b\",\"label\":-1}", "line 1", "label -1 is out of range")]
    [InlineData("hellaswag", "{\"activity_label\":\"a\",\"ctx_a\":\"b\",\"ctx_b\":\"c\",\"endings\":\"not a list\",\"label\":\"0\"}", "line 1", "list of strings")]
    [InlineData("hellaswag", "{\"activity_label\":\"a\",\"ctx_a\":\"b\",\"ctx_b\":\"c\",\"endings\":[\"x\",\"y\"],\"label\":\"\"}", "line 1", "must be an integer")]
    [InlineData("winogrande", "{\"sentence\":\"no blank here\",\"option1\":\"a\",\"option2\":\"b\",\"answer\":\"1\"}", "line 1", "no '_' blank")]
    [InlineData("winogrande", "{\"sentence\":\"a _ b\",\"option1\":\"a\",\"option2\":\"b\",\"answer\":\"3\"}", "line 1", "answer \"3\" is out of range")]
    [InlineData("openbookqa", "{\"question_stem\":\"q\",\"choices\":{\"text\":[\"a\",\"b\"],\"label\":[\"A\",\"B\"]},\"answerKey\":\"E\"}", "line 1", "answerKey \"E\"")]
    [InlineData("piqa", "{\"goal\":\"g\",\"sol1\":\"a\",\"sol2\":\"b\",\"label\":0}\n{not json", "line 2", "not valid JSON")]
    public void BadJsonLinesNameTheFileAndLine(string task, string content, string where, string what)
    {
        var file = Write($"{task}/{ZeroShotTask.Get(task).Split}.jsonl", content);
        var e = Assert.Throws<TaskDataException>(() => ZeroShotEvaluator.LoadDocs(ZeroShotTask.Get(task), _tmp));
        Assert.Contains($"{file} {where}", e.Message);
        Assert.Contains(what, e.Message);
    }

    [Fact]
    public async Task BadParquetNamesTheFileAndRow()
    {
        // Row 1 has a label out of range; the schema also lacks sol2, which row 0 already trips over.
        var rows = new[] { new PiqaRow { goal = "g", sol1 = "a", label = 0 }, new PiqaRow { goal = "g", sol1 = "a", label = 7 } };
        var file = await WriteParquet("piqa/validation-00000-of-00001.parquet", rows);
        var e = Assert.Throws<TaskDataException>(() => ZeroShotEvaluator.LoadDocs(ZeroShotTask.Get("piqa"), _tmp));
        Assert.Contains($"{file} row 0", e.Message);
        Assert.Contains("'sol2' is missing", e.Message);

        var arc = FixtureRows<ArcRow>("arc_easy", "test");
        arc[2].answerKey = "Z";
        file = await WriteParquet("arc_easy/test-00000-of-00001.parquet", arc);
        e = Assert.Throws<TaskDataException>(() => ZeroShotEvaluator.LoadDocs(ZeroShotTask.Get("arc_easy"), _tmp));
        Assert.Contains($"{file} row 2", e.Message);
        Assert.Contains("answerKey \"Z\"", e.Message);
    }

    [Fact]
    public void AFileThatIsNotParquetIsNamed()
    {
        var file = Write("rte/validation-00000-of-00001.parquet", "this is not parquet");
        var e = Assert.Throws<TaskDataException>(() => ZeroShotEvaluator.LoadDocs(ZeroShotTask.Get("rte"), _tmp));
        Assert.Contains(file, e.Message);
    }
}
