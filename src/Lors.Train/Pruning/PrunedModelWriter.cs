// Writes a pruned model as a Hugging Face folder atomically: everything goes to outDir.tmp-<guid> first and the
// folder is renamed into place, so a failure never leaves a half-written outDir behind.
using Lors.Models.Llama;
using Lors.Tensors;

namespace Lors.Train.Pruning;

public static class PrunedModelWriter
{
    /// <summary>
    /// Saves <paramref name="model"/> (weights in config.json's dtype, tokenizer and generation files copied from
    /// <paramref name="sourceDir"/>) to <paramref name="outDir"/>. An existing outDir is an error unless force.
    /// </summary>
    public static void Write(LlamaModel model, string sourceDir, string outDir, bool force = false, DType? storeType = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrWhiteSpace(outDir);
        var target = Path.GetFullPath(outDir).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        if (sourceDir is not null && Path.GetFullPath(sourceDir).TrimEnd(Path.DirectorySeparatorChar) == target)
            throw new ArgumentException($"output folder '{outDir}' is the source model folder; choose another", nameof(outDir));
        if (File.Exists(target))
            throw new IOException($"output '{outDir}' exists and is a file, not a folder");
        if (Directory.Exists(target) && !force)
            throw new IOException($"output folder '{outDir}' already exists (use force to replace it)");
        var parent = Path.GetDirectoryName(target);
        if (!string.IsNullOrEmpty(parent)) Directory.CreateDirectory(parent);

        var tmp = $"{target}.tmp-{Guid.NewGuid():N}";
        try
        {
            model.Save(tmp, copyFrom: sourceDir, storeType: storeType);
            if (Directory.Exists(target))
            {
                // Move the old folder aside first so the new one appears in a single rename.
                var old = $"{target}.old-{Guid.NewGuid():N}";
                Directory.Move(target, old);
                Directory.Move(tmp, target);
                Directory.Delete(old, recursive: true);
            }
            else Directory.Move(tmp, target);
        }
        catch
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            throw;
        }
    }
}
