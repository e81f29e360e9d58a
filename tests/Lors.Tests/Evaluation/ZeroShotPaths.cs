// Where the zero-shot fixtures live: tests/fixtures/zeroshot/<task>/<split>.jsonl, golden.json beside them.
namespace Lors.Tests.Evaluation;

internal static class ZeroShotPaths
{
    public static string Data => Path.Combine(RepoPaths.Fixtures, "zeroshot");
    public static string Golden => Path.Combine(Data, "golden.json");
}
