// Bad input gives clear errors naming the argument: patterns that do not divide, ratios outside (0, 1),
// missing or short calibration, existing output folders.
using Lors.Models.Tokenization;
using Lors.Train.Pruning;

namespace Lors.Tests.Pruning;

public class PruneBadInputTests
{
    [Fact]
    public void PatternThatDoesNotDivideInputsIsRejectedBeforeAnyChange()
    {
        using var model = PrunePaths.SmallRandom();
        var before = model.Layers[0][Lors.Models.Llama.Projection.Q].Weight.Data.ToFloatArray();
        // Hidden 32 divides by 16 but intermediate 48 (down_proj's input) does not divide by 32.
        var e = Assert.Throws<ArgumentException>(() => Pruner.Prune(model, new PruneOptions { Method = PruneMethod.Magnitude, Pattern = new SparsityPattern.NM(3, 32) }, null));
        Assert.Equal("pattern", e.ParamName);
        Assert.Contains("down_proj", e.Message);
        Assert.Contains("48", e.Message);
        Assert.Equal(before, model.Layers[0][Lors.Models.Llama.Projection.Q].Weight.Data.ToFloatArray());
    }

    [Fact]
    public void CalibratedMethodsNeedCalibration()
    {
        using var model = PrunePaths.SmallRandom();
        foreach (var m in new[] { PruneMethod.Wanda, PruneMethod.SparseGpt })
        {
            var e = Assert.Throws<ArgumentException>(() => Pruner.Prune(model, new PruneOptions { Method = m }, null));
            Assert.Equal("calibration", e.ParamName);
        }
        var tooLong = PrunePaths.RandomCalibration(2, 65, 64, 1); // max_position_embeddings is 64
        Assert.Contains("max_position_embeddings", Assert.Throws<ArgumentException>(() => Pruner.Prune(model, new PruneOptions { Method = PruneMethod.Wanda }, tooLong)).Message);
        var ragged = new[] { new int[8], new int[7] };
        Assert.Contains("sample 1 has 7", Assert.Throws<ArgumentException>(() => Pruner.Prune(model, new PruneOptions { Method = PruneMethod.Wanda }, ragged)).Message);
        var badId = new[] { new[] { 1, 2, 64 } };
        Assert.Contains("token id 64", Assert.Throws<ArgumentException>(() => Pruner.Prune(model, new PruneOptions { Method = PruneMethod.Wanda }, badId)).Message);
    }

    [Fact]
    public void ShortCalibrationTextNamesFileAndCounts()
    {
        var tok = Tokenizer.Load(PrunePaths.TinyModel);
        using var tmp = new PruneTemp();
        var file = tmp.Sub("short.txt");
        File.WriteAllText(file, "The jury said it did find that the city was well run.");
        int have = tok.Encode(File.ReadAllText(file), addSpecialTokens: false).Length;
        var e = Assert.Throws<ArgumentException>(() => CalibrationData.FromText(tok, file, 4, 16, 0));
        Assert.Equal("calibration", e.ParamName);
        Assert.Contains("short.txt", e.Message);
        Assert.Contains($"has {have} tokens", e.Message);
        Assert.Contains("64 needed", e.Message);
        Assert.Throws<FileNotFoundException>(() => CalibrationData.FromText(tok, tmp.Sub("missing.txt"), 1, 4, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => CalibrationData.FromText(tok, file, 0, 4, 0));
    }

    [Fact]
    public void CalibrationIsSeededAndInRange()
    {
        var stream = Enumerable.Range(0, 1000).ToArray();
        var a = CalibrationData.FromTokens(stream, 5, 50, 3);
        var b = CalibrationData.FromTokens(stream, 5, 50, 3);
        var c = CalibrationData.FromTokens(stream, 5, 50, 4);
        Assert.Equal(a, b);
        Assert.NotEqual(a.Select(s => s[0]), c.Select(s => s[0]));
        Assert.All(a, s => Assert.Equal(Enumerable.Range(s[0], 50), s)); // contiguous windows
        Assert.All(a, s => Assert.InRange(s[0], 0, 950));
    }

    [Fact]
    public void ExistingOutputFolderIsRefusedUnlessForced()
    {
        using var model = PrunePaths.SmallRandom();
        using var tmp = new PruneTemp();
        var outDir = tmp.Sub("out");
        Directory.CreateDirectory(outDir);
        File.WriteAllText(Path.Combine(outDir, "keep.txt"), "old");
        var e = Assert.Throws<IOException>(() => model.SaveFolder(outDir, PrunePaths.TinyModel, force: false));
        Assert.Contains(outDir, e.Message);
        Assert.True(File.Exists(Path.Combine(outDir, "keep.txt")));

        model.SaveFolder(outDir, PrunePaths.TinyModel, force: true);
        Assert.False(File.Exists(Path.Combine(outDir, "keep.txt")));
        Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(outDir, "tokenizer.json")));
        Assert.Equal(["out"], Directory.GetFileSystemEntries(tmp.Path).Select(Path.GetFileName)); // no .tmp-/.old- leftovers
    }
}
