// Where the sampler stands: which epoch (selects the shuffle permutation) and the position inside it.
namespace Lors.Train.Data;

public readonly record struct DataCursor(int Epoch, int Index)
{
    public static readonly DataCursor Start = new(0, 0);
    public override string ToString() => $"epoch {Epoch}, index {Index}";
}
