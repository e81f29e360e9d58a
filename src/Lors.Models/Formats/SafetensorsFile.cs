// A read-only, memory-mapped safetensors file: the header is validated on Open, tensor bytes are
// served straight from the mapping (no copies) until Dispose.
using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;

namespace Lors.Models.Formats;

public sealed unsafe class SafetensorsFile : IDisposable
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly Dictionary<string, SafetensorsEntry> _byName;
    private byte* _base;   // start of the file in memory; null after Dispose
    private readonly long _dataStart;

    /// <summary>The path as given to Open (used in every error message).</summary>
    public string FilePath { get; }
    public IReadOnlyList<SafetensorsEntry> Entries { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    /// <summary>Size of the data section (the file after the header).</summary>
    public long DataLength { get; }
    /// <summary>File offset of the data section (8 + header length): an entry's bytes start at DataStart + ByteOffset.</summary>
    public long DataStart => _dataStart;

    private SafetensorsFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor view, byte* basePtr,
        long dataStart, long dataLength, List<SafetensorsEntry> entries, Dictionary<string, string> metadata)
    {
        FilePath = path;
        _map = map;
        _view = view;
        _base = basePtr;
        _dataStart = dataStart;
        DataLength = dataLength;
        Entries = entries.AsReadOnly();
        Metadata = metadata.AsReadOnly();
        _byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
    }

    public static SafetensorsFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        FileStream fs;
        try { fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read); }
        catch (FileNotFoundException e) { throw new SafetensorsFormatException(path, null, "file not found", e); }
        catch (DirectoryNotFoundException e) { throw new SafetensorsFormatException(path, null, "file not found", e); }

        long fileLength = fs.Length;
        if (fileLength < 8)
        {
            fs.Dispose();
            throw new SafetensorsFormatException(path, null, $"file is {fileLength} bytes, too short for the 8-byte header length");
        }

        MemoryMappedFile? map = null;
        MemoryMappedViewAccessor? view = null;
        bool acquired = false;
        try
        {
            map = MemoryMappedFile.CreateFromFile(fs, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            view = map.CreateViewAccessor(0, fileLength, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            acquired = true;
            p += view.PointerOffset;

            ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(new ReadOnlySpan<byte>(p, 8));
            // Compare as unsigned before any cast: a lying length near 2^64 must not wrap.
            if (headerLen > (ulong)(fileLength - 8))
                throw new SafetensorsFormatException(path, null, $"header length {headerLen} exceeds the {fileLength - 8} bytes after the length field");
            if (headerLen > SafetensorsHeader.MaxHeaderBytes)
                throw new SafetensorsFormatException(path, null, $"header length {headerLen} exceeds the {SafetensorsHeader.MaxHeaderBytes}-byte limit");

            long dataStart = 8 + (long)headerLen;
            long dataLength = fileLength - dataStart;
            var (entries, metadata) = SafetensorsHeader.Parse(new ReadOnlySpan<byte>(p + 8, (int)headerLen), dataLength, path);
            return new SafetensorsFile(path, map, view, p, dataStart, dataLength, entries, metadata);
        }
        catch
        {
            if (acquired) view!.SafeMemoryMappedViewHandle.ReleasePointer();
            view?.Dispose();
            if (map is not null) map.Dispose(); else fs.Dispose();
            throw;
        }
    }

    public bool TryGet(string name, out SafetensorsEntry entry) => _byName.TryGetValue(name, out entry!);

    public SafetensorsEntry Get(string name) =>
        _byName.TryGetValue(name, out var e) ? e : throw new SafetensorsFormatException(FilePath, name, "no such tensor in this file");

    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Pointer to the entry's first byte; valid until Dispose. No alignment is guaranteed
    /// (the format only aligns the data section start to 8 when writers pad the header as HF does).</summary>
    public byte* GetPointer(SafetensorsEntry entry)
    {
        CheckOwned(entry);
        return _base + _dataStart + entry.ByteOffset;
    }

    /// <summary>The entry's bytes as a span over the mapping (tensors below 2 GiB; use GetPointer or CopyTo above).</summary>
    public ReadOnlySpan<byte> GetBytes(SafetensorsEntry entry)
    {
        CheckOwned(entry);
        if (entry.ByteLength > int.MaxValue)
            throw new SafetensorsFormatException(FilePath, entry.Name, $"{entry.ByteLength} bytes is too large for a span; use GetPointer or CopyTo");
        return new ReadOnlySpan<byte>(_base + _dataStart + entry.ByteOffset, (int)entry.ByteLength);
    }

    /// <summary>Copies the entry's bytes to a stream in chunks (works for tensors of any size).</summary>
    public void CopyTo(SafetensorsEntry entry, Stream destination)
    {
        CheckOwned(entry);
        byte* p = _base + _dataStart + entry.ByteOffset;
        const int Chunk = 1 << 24;
        for (long done = 0; done < entry.ByteLength; done += Chunk)
        {
            int n = (int)Math.Min(Chunk, entry.ByteLength - done);
            destination.Write(new ReadOnlySpan<byte>(p + done, n));
        }
    }

    private void CheckOwned(SafetensorsEntry entry)
    {
        ObjectDisposedException.ThrowIf(_base == null, this);
        ArgumentNullException.ThrowIfNull(entry);
        // An entry from another file would silently read the wrong bytes; entries are immutable records
        // created by this instance, so identity is the right check.
        if (!_byName.TryGetValue(entry.Name, out var own) || !ReferenceEquals(own, entry))
            throw new ArgumentException($"{FilePath}: entry '{entry.Name}' does not belong to this file", nameof(entry));
    }

    public void Dispose()
    {
        if (_base == null) return;
        _base = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }
}
