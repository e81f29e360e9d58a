// A full disk while merge or prune copies tokenizer.json: the error names the file being written, and the output folder
// is not left behind. The full disk is /dev/full behind the temporary file's name (Linux only).
using Lors.Models.Llama;

namespace Lors.Tests.Hardening;

/// <summary>Runs where /dev/full exists (Linux); skips with the reason elsewhere.</summary>
public sealed class DevFullFactAttribute : FactAttribute
{
    public DevFullFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/dev/full")) Skip = "needs Linux's /dev/full to simulate a full disk";
    }
}

public sealed class CliHardeningDiskFullTests
{
    [DevFullFact]
    public void CopyingTokenizerJsonToAFullDiskNamesThePath()
    {
        var to = CliHardeningHarness.TempDir("full");
        File.CreateSymbolicLink(Path.Combine(to, "tokenizer.json.tmp"), "/dev/full");
        var e = Assert.Throws<IOException>(() => LlamaModel.CopyAuxiliaryFiles(RepoPaths.TinyModel, to));
        Assert.Contains(Path.Combine(to, "tokenizer.json"), e.Message);
        Assert.Contains(Path.Combine(RepoPaths.TinyModel, "tokenizer.json"), e.Message);   // which copy failed, not only the temporary name
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(File.Exists(Path.Combine(to, "tokenizer.json")));
    }
}
