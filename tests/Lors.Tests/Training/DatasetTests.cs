// Datasets: text packing, Alpaca prompt/masking/truncation/padding/packing, split and shuffle determinism, bad input.
using Lors.Train.Data;
using static Lors.Tests.Training.TrainTestUtil;

namespace Lors.Tests.Training;

public class DatasetTests
{
    [Fact]
    public void TextIsPackedIntoBlocksWithBosOnceAndTailDropped()
    {
        var ds = TextDataset.FromText("abcdefghij", CharEncoder, seqLen: 4);   // BOS + 10 chars = 11 tokens
        Assert.Equal(2, ds.Count);
        Assert.Equal([Bos, 'a' + 10, 'b' + 10, 'c' + 10], ds[0].Ids);
        Assert.Equal(ds[0].Ids, ds[0].Labels);
        Assert.Equal(['d' + 10, 'e' + 10, 'f' + 10, 'g' + 10], ds[1].Ids);
        Assert.Equal(2, TextDataset.FromText("abcdefgh", CharEncoder, 4, addBos: false).Count);
        var path = Path.Combine(TempDir("text"), "t.txt");
        File.WriteAllText(path, "hello world!");
        Assert.Equal(3, TextDataset.Load(path, CharEncoder, 4).Count);
    }

    [Fact]
    public void AlpacaPromptMasksPromptAndAppendsEos()
    {
        var withInput = new AlpacaRecord("Add.", "2 3", "5");
        Assert.Equal("Below is an instruction that describes a task, paired with an input that provides further context. " +
            "Write a response that appropriately completes the request.\n\n### Instruction:\nAdd.\n\n### Input:\n2 3\n\n### Response:\n", withInput.Prompt);
        var noInput = new AlpacaRecord("Say hi.", "", "hi");
        Assert.Equal("Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n" +
            "### Instruction:\nSay hi.\n\n### Response:\n", noInput.Prompt);

        var (ids, labels) = AlpacaDataset.Tokenize(noInput, CharEncoder);
        int p = noInput.Prompt.Length;
        Assert.Equal(1 + p + 2 + 1, ids.Length);
        Assert.Equal(Bos, ids[0]);
        Assert.Equal(Eos, ids[^1]);
        Assert.All(labels[..(1 + p)], l => Assert.Equal(-100, l));
        Assert.Equal(['h' + 10, 'i' + 10, Eos], labels[(1 + p)..]);
    }

    [Fact]
    public void AlpacaPaddingTruncatesPadsAndSkipsExamplesWithoutResponse()
    {
        var shortRec = new AlpacaRecord("x", "", "yes");
        int len = 1 + shortRec.Prompt.Length + 3 + 1;
        var ds = AlpacaDataset.Build([shortRec], CharEncoder, len + 5);
        Assert.Equal(1, ds.Count);
        Assert.All(ds[0].Ids[len..], t => Assert.Equal(Pad, t));
        Assert.All(ds[0].Labels[len..], l => Assert.Equal(-100, l));
        Assert.Equal(4, ds[0].Labels.Count(l => l != -100));

        var cut = AlpacaDataset.Build([shortRec], CharEncoder, len - 2);        // keeps "ye", loses "s" and EOS
        Assert.Equal(['y' + 10, 'e' + 10], cut[0].Labels.Where(l => l != -100));
        Assert.Equal(0, AlpacaDataset.Build([shortRec], CharEncoder, 10).Count); // the prompt alone fills T
    }

    [Fact]
    public void AlpacaPackingConcatenatesExamples()
    {
        var recs = Enumerable.Range(0, 5).Select(i => new AlpacaRecord($"q{i}", "", $"a{i}")).ToList();
        int each = AlpacaDataset.Tokenize(recs[0], CharEncoder).Ids.Length;
        var ds = AlpacaDataset.Build(recs, CharEncoder, 32, AlpacaMode.Packing);
        Assert.Equal(5 * each / 32, ds.Count);
        var flat = Enumerable.Range(0, ds.Count).SelectMany(i => ds[i].Labels).ToArray();
        Assert.Equal(Eos, flat[each - 1]);                                      // first example's EOS, still supervised
        Assert.Equal(-100, flat[each]);                                         // the next example's BOS is masked
        var stream = recs.SelectMany(r => AlpacaDataset.Tokenize(r, CharEncoder).Labels).Take(flat.Length);
        Assert.Equal(stream, flat);
    }

    [Fact]
    public void AlpacaReadsJsonArrayAndJsonl()
    {
        var dir = TempDir("alpaca");
        var arr = Path.Combine(dir, "a.json");
        File.WriteAllText(arr, """[{"instruction":"i1","input":"","output":"o1"},{"instruction":"i2","input":null,"output":"o2"}]""");
        var jl = Path.Combine(dir, "a.jsonl");
        File.WriteAllText(jl, "{\"instruction\":\"i1\",\"output\":\"o1\"}\n\n{\"instruction\":\"i2\",\"input\":\"ctx\",\"output\":\"o2\"}\n");
        Assert.Equal(2, AlpacaRecord.ReadFile(arr).Count);
        var l = AlpacaRecord.ReadFile(jl);
        Assert.Equal(new AlpacaRecord("i2", "ctx", "o2"), l[1]);
        Assert.Equal(2, AlpacaDataset.Load(jl, CharEncoder, 400).Count);
    }

    [Theory]
    [InlineData("{\"instruction\":\"a\",\"output\":\"b\"}\n{\"instruction\":\"a\"}\n", "line 2", "output")]
    [InlineData("{\"instruction\":\"a\",\"output\":\"b\"}\n{\"output\":\"b\"}\n", "line 2", "instruction")]
    [InlineData("{\"instruction\":\"a\",\"output\":\"b\"}\n{\"instruction\": \n", "line 2", null)]
    [InlineData("{\"instruction\":\"a\",\"output\":3}\n", "line 1", "output")]
    [InlineData("[{\"instruction\":\"a\",\"output\":\"b\"},{\"instruction\":\"a\",\"input\":\"\"}]", "record 2", "output")]
    [InlineData("[{\"instruction\":\"a\",\"output\":\"b\"},\n\n{\"instruction\":}]", "line 3", null)]
    [InlineData("[1]", "record 1", null)]
    public void MalformedAlpacaInputNamesFileLocationAndField(string text, string where, string? field)
    {
        var path = Path.Combine(TempDir("bad"), "bad.jsonl");
        File.WriteAllText(path, text);
        var e = Assert.Throws<DatasetFormatException>(() => AlpacaRecord.ReadFile(path));
        Assert.Equal(path, e.FilePath);
        Assert.Equal(where, e.Location);
        Assert.Equal(field, e.Field);
        Assert.Contains(path, e.Message);
        Assert.Contains(where, e.Message);
        if (field is not null) Assert.Contains(field, e.Message);
    }

    [Fact]
    public void SplitIsDeterministicAndDisjoint()
    {
        var ds = new SequenceDataset(1, Enumerable.Range(0, 100).Select(i => (new[] { i }, new[] { i })));
        var (tr, va) = ds.Split(0.1, seed: 3);
        var (tr2, va2) = ds.Split(0.1, seed: 3);
        var (_, va3) = ds.Split(0.1, seed: 4);
        Assert.Equal(90, tr.Count);
        Assert.Equal(10, va.Count);
        var vIds = Enumerable.Range(0, va.Count).Select(i => va[i].Ids[0]).ToArray();
        Assert.Equal(vIds, Enumerable.Range(0, va2.Count).Select(i => va2[i].Ids[0]));
        Assert.NotEqual(vIds, Enumerable.Range(0, va3.Count).Select(i => va3[i].Ids[0]));
        Assert.Empty(Enumerable.Range(0, tr.Count).Select(i => tr[i].Ids[0]).Intersect(vIds));
        Assert.Equal(1, new SequenceDataset(1, [([1], [1]), ([2], [2])]).Split(0.01, 1).Validation.Count);
        Assert.Equal(0, ds.Split(0, 1).Validation.Count);
    }

    [Fact]
    public void ShufflingIsSeededEpochDependentAndResumableFromCursor()
    {
        var ds = new SequenceDataset(1, Enumerable.Range(0, 10).Select(i => (new[] { i }, new[] { i })));
        List<int> Draw(BatchSampler s, int n) => Enumerable.Range(0, n).SelectMany(_ => s.Next().Ids).ToList();
        var a = new BatchSampler(ds, 3, seed: 5);
        var b = new BatchSampler(ds, 3, seed: 5);
        var seqA = Draw(a, 9);                                   // 3 batches per epoch (one example dropped), 3 epochs
        Assert.Equal(seqA, Draw(b, 9));
        Assert.NotEqual(seqA, Draw(new BatchSampler(ds, 3, seed: 6), 9));
        Assert.NotEqual(seqA.Take(9), seqA.Skip(9).Take(9));     // each epoch its own order
        Assert.Equal(9, seqA.Take(9).Distinct().Count());        // no repeats inside an epoch
        Assert.Equal(new DataCursor(2, 9), a.Cursor);

        // a new sampler placed at a saved cursor continues the same sequence
        var c = new BatchSampler(ds, 3, seed: 5);
        Draw(c, 4);
        var saved = c.Cursor;
        var d = new BatchSampler(ds, 3, seed: 5) { Cursor = saved };
        Assert.Equal(seqA.Skip(12), Draw(d, 5));
        Assert.Equal([0, 1, 2], new BatchSampler(ds, 3, 5, shuffle: false).Next().Ids);
        Assert.Throws<ArgumentException>(() => new BatchSampler(ds, 11, 5));
    }

    [Fact]
    public void SequentialBatchesCoverValidationWithASmallerLastBatch()
    {
        var ds = new SequenceDataset(2, Enumerable.Range(0, 5).Select(i => (new[] { i, i }, new[] { i, -100 })));
        var batches = BatchSampler.Sequential(ds, 2).ToList();
        Assert.Equal([2, 2, 1], batches.Select(b => b.B));
        Assert.Equal([4, 4], batches[2].Ids);
        Assert.Equal(2, BatchSampler.Sequential(ds, 2, maxBatches: 2).Count());
        var (ids, labels) = batches[0].ToTensors();
        Assert.Equal([2, 2], ids.Shape);
        Assert.Equal([0, -100, 1, -100], labels.ToIntArray());
        ids.Dispose(); labels.Dispose();
        Assert.Equal(2, batches[0].LabelCount);
    }

    [Fact]
    public void TokenizerEncoderFromFixtureModel()
    {
        var tok = Lors.Models.Tokenization.Tokenizer.Load(Path.Combine(RepoPaths.TinyModel, "tokenizer.json"));
        var enc = TokenEncoder.From(tok);
        var ds = TextDataset.FromText("The jury said it did find that many of the voters were confused.", enc, 4);
        Assert.True(ds.Count >= 2);
        if (tok.BosTokenId is int bos) Assert.Equal(bos, ds[0].Ids[0]);
        Assert.DoesNotContain(tok.BosTokenId ?? -1, ds[1].Ids);
    }
}
