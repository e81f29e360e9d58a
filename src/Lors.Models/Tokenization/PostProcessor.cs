// Post-processing of a single sequence (the "add special tokens" step): a template of fixed ids around the sequence.
namespace Lors.Models.Tokenization;

internal sealed class TemplatePostProcessor
{
    readonly IReadOnlyList<int[]?> _items; // null marks where the encoded sequence goes

    public TemplatePostProcessor(IReadOnlyList<int[]?> items) => _items = items;

    /// <summary>A processor that adds nothing (ByteLevel post-processor, or none declared).</summary>
    public static readonly TemplatePostProcessor Identity = new([null]);

    /// <summary>The first id the template puts before the sequence, if any (taken as BOS when no config says so).</summary>
    public int? LeadingId => _items.Count > 0 && _items[0] is { Length: > 0 } first ? first[0] : null;

    public int[] Apply(List<int> sequence)
    {
        var result = new List<int>(sequence.Count + 4);
        foreach (var item in _items)
        {
            if (item == null) result.AddRange(sequence);
            else result.AddRange(item);
        }
        return result.ToArray();
    }
}
