// Byte-pair-encoding model: vocab, ranked merges, unknown/byte-fallback handling and a per-word cache.
// The merge loop follows HF's order exactly: repeatedly apply the lowest-rank pair, leftmost first.
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Lors.Models.Tokenization;

internal sealed class BpeModel
{
    const int MaxCachedWordLength = 256;
    const int MaxCacheEntries = 200_000;

    readonly Dictionary<string, int> _vocab;
    readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _vocabBySpan;
    readonly Dictionary<long, (int Rank, int NewId)> _merges;
    readonly int[] _byteTokenIds; // id of "<0xNN>" per byte, -1 when absent
    readonly ConcurrentDictionary<string, int[]> _cache = new();

    public BpeModel(Dictionary<string, int> vocab, IReadOnlyList<(string Left, string Right)> merges,
        string? unkToken, bool fuseUnk, bool byteFallback, bool ignoreMerges,
        string? continuingSubwordPrefix, string? endOfWordSuffix, Func<string, Exception> fail)
    {
        _vocab = vocab;
        _vocabBySpan = vocab.GetAlternateLookup<ReadOnlySpan<char>>();
        FuseUnk = fuseUnk;
        ByteFallback = byteFallback;
        IgnoreMerges = ignoreMerges;
        ContinuingSubwordPrefix = string.IsNullOrEmpty(continuingSubwordPrefix) ? null : continuingSubwordPrefix;
        EndOfWordSuffix = string.IsNullOrEmpty(endOfWordSuffix) ? null : endOfWordSuffix;
        if (unkToken != null)
        {
            if (!vocab.TryGetValue(unkToken, out int unk)) throw fail($"unk_token '{unkToken}' is not in the vocab");
            UnkId = unk;
        }

        _merges = new Dictionary<long, (int, int)>(merges.Count);
        int prefixLen = ContinuingSubwordPrefix?.Length ?? 0;
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (a, b) = merges[rank];
            if (!vocab.TryGetValue(a, out int ia)) throw fail($"merge {rank} uses '{a}' which is not in the vocab");
            if (!vocab.TryGetValue(b, out int ib)) throw fail($"merge {rank} uses '{b}' which is not in the vocab");
            // With a continuing-subword prefix the right part carries it, but the merged token does not repeat it.
            string merged = prefixLen > 0 && b.StartsWith(ContinuingSubwordPrefix!, StringComparison.Ordinal)
                ? a + b[prefixLen..] : a + b;
            if (!vocab.TryGetValue(merged, out int inew)) throw fail($"merge {rank} result '{merged}' is not in the vocab");
            _merges.TryAdd(Key(ia, ib), (rank, inew)); // first (lowest-rank) occurrence wins
        }

        _byteTokenIds = new int[256];
        for (int b = 0; b < 256; b++)
            _byteTokenIds[b] = vocab.TryGetValue($"<0x{b:X2}>", out int id) ? id : -1;
    }

    public int? UnkId { get; }
    public bool FuseUnk { get; }
    public bool ByteFallback { get; }
    public bool IgnoreMerges { get; }
    public string? ContinuingSubwordPrefix { get; }
    public string? EndOfWordSuffix { get; }
    public IReadOnlyDictionary<string, int> Vocab => _vocab;

    /// <summary>Id of a byte-fallback token for byte b, or -1.</summary>
    public int ByteTokenId(int b) => _byteTokenIds[b];

    static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    /// <summary>Appends the ids of one pre-tokenized word.</summary>
    public void Tokenize(string word, List<int> output)
    {
        if (word.Length == 0) return;
        if (IgnoreMerges && _vocab.TryGetValue(word, out int whole)) { output.Add(whole); return; }
        if (word.Length <= MaxCachedWordLength && _cache.TryGetValue(word, out var hit)) { output.AddRange(hit); return; }

        var ids = MergeWord(InitialSymbols(word));
        if (word.Length <= MaxCachedWordLength)
        {
            if (_cache.Count >= MaxCacheEntries) _cache.Clear(); // crude bound; the working set refills quickly
            _cache.TryAdd(word, ids);
        }
        output.AddRange(ids);
    }

    /// <summary>One symbol per Unicode scalar (or per byte via fallback); unknown chars become unk, fused if asked.</summary>
    // Full JIT optimisation from the first call: a model without pre-tokenizer sends the whole text here once,
    // which would otherwise run in unoptimised tier-0 code.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    List<int> InitialSymbols(string word)
    {
        var symbols = new List<int>(word.Length);
        int pendingUnk = -1; // HF holds one unk back so consecutive unknowns can fuse
        Span<byte> utf8 = stackalloc byte[64];
        int i = 0;
        while (i < word.Length)
        {
            int len = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            bool first = i == 0, last = i + len == word.Length;
            ReadOnlySpan<char> piece = word.AsSpan(i, len);
            string? decorated = null;
            if ((ContinuingSubwordPrefix != null && !first) || (EndOfWordSuffix != null && last))
                decorated = (first ? "" : ContinuingSubwordPrefix) + piece.ToString() + (last ? EndOfWordSuffix : "");

            bool found = decorated != null ? _vocab.TryGetValue(decorated, out int id) : _vocabBySpan.TryGetValue(piece, out id);
            if (found)
            {
                if (pendingUnk >= 0) { symbols.Add(pendingUnk); pendingUnk = -1; }
                symbols.Add(id);
            }
            else if (ByteFallback && TryAddBytes(decorated ?? piece.ToString(), symbols, utf8)) { }
            else if (UnkId is int unk)
            {
                if (pendingUnk >= 0 && !FuseUnk) symbols.Add(pendingUnk);
                pendingUnk = unk;
            }
            // With no unk token the char is silently dropped, as in HF.
            i += len;
        }
        if (pendingUnk >= 0) symbols.Add(pendingUnk);
        return symbols;
    }

    bool TryAddBytes(string text, List<int> symbols, Span<byte> buffer)
    {
        int n = System.Text.Encoding.UTF8.GetByteCount(text);
        Span<byte> bytes = n <= buffer.Length ? buffer[..n] : new byte[n];
        System.Text.Encoding.UTF8.GetBytes(text, bytes);
        foreach (byte b in bytes) if (_byteTokenIds[b] < 0) return false;
        foreach (byte b in bytes) symbols.Add(_byteTokenIds[b]);
        return true;
    }

    /// <summary>Applies merges over a doubly linked list of symbols, driven by a (rank, position) priority queue.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    int[] MergeWord(List<int> symbols)
    {
        int n = symbols.Count;
        if (n <= 1) return symbols.ToArray();
        var id = symbols.ToArray();
        var prev = new int[n];
        var next = new int[n];
        var alive = new bool[n];
        for (int k = 0; k < n; k++) { prev[k] = k - 1; next[k] = k + 1 < n ? k + 1 : -1; alive[k] = true; }

        var queue = new PriorityQueue<(int Pos, int NewId), long>(n);
        for (int k = 0; k + 1 < n; k++)
            if (_merges.TryGetValue(Key(id[k], id[k + 1]), out var m)) queue.Enqueue((k, m.NewId), Priority(m.Rank, k));

        while (queue.TryDequeue(out var top, out _))
        {
            int pos = top.Pos;
            if (!alive[pos] || next[pos] < 0) continue;
            int right = next[pos];
            // Entries go stale when a neighbour merged first; only apply if the pair still yields this token.
            if (!_merges.TryGetValue(Key(id[pos], id[right]), out var cur) || cur.NewId != top.NewId) continue;

            id[pos] = top.NewId;
            alive[right] = false;
            next[pos] = next[right];
            if (next[right] >= 0) prev[next[right]] = pos;

            if (prev[pos] >= 0 && _merges.TryGetValue(Key(id[prev[pos]], id[pos]), out var left))
                queue.Enqueue((prev[pos], left.NewId), Priority(left.Rank, prev[pos]));
            if (next[pos] >= 0 && _merges.TryGetValue(Key(id[pos], id[next[pos]]), out var after))
                queue.Enqueue((pos, after.NewId), Priority(after.Rank, pos));
        }

        var result = new List<int>(n);
        for (int k = 0; k >= 0; k = next[k]) result.Add(id[k]);
        return result.ToArray();
    }

    static long Priority(int rank, int pos) => ((long)rank << 32) | (uint)pos;
}
