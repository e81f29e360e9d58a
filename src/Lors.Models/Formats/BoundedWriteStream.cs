// A write-only view of an output stream that lets a WriteData callback write exactly its tensor's
// bytes: more is refused at once, fewer is reported after the callback returns.
namespace Lors.Models.Formats;

internal sealed class BoundedWriteStream(Stream inner, long limit, string file, string tensor) : Stream
{
    public long Written { get; private set; }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => Written;
    public override long Position { get => Written; set => throw new NotSupportedException(); }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (Written + buffer.Length > limit)
            throw new SafetensorsFormatException(file, tensor, $"WriteData wrote more than the {limit} bytes its shape and dtype need");
        inner.Write(buffer);
        Written += buffer.Length;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
    public override void WriteByte(byte value) => Write([value]);
    public override void Flush() { }   // the writer flushes the file once at the end
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
