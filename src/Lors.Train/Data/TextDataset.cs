// Plain-text language-modeling data: the whole file is tokenized once, BOS is placed ONCE at the very start
// (not per block, not per line), the stream is cut into blocks of T tokens with labels = ids; the partial tail is dropped.
namespace Lors.Train.Data;

public static class TextDataset
{
    public static SequenceDataset Load(string path, TokenEncoder encoder, int seqLen, bool addBos = true)
    {
        var data = FromText(TextFile.ReadUtf8(path, "--data"), encoder, seqLen, addBos);
        if (data.Count == 0)
            throw new InvalidDataException($"--data: '{path}' has too few tokens for one block of {seqLen} (--seq-len)");
        return data;
    }

    public static SequenceDataset FromText(string text, TokenEncoder encoder, int seqLen, bool addBos = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(seqLen);
        // One Encode call over the whole text keeps tokenization identical to encoding the document as a whole
        // (per-line calls would add a prefix space per line with metaspace tokenizers).
        var body = encoder.Encode(text);
        var ids = new List<int>(body.Length + 1);
        if (addBos && encoder.BosTokenId is int bos) ids.Add(bos);
        ids.AddRange(body);
        return SequenceDataset.Pack(seqLen, ids, ids);
    }
}
