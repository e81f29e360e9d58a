// Runs the `lors` tool in-process (LorsApp.Run) with standard output and error captured, for the CLI tests.
using Lors.Cli;

namespace Lors.Tests.Cli;

internal static class CliRunner
{
    public static (int rc, string stdout, string stderr) Run(params string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        var o = new StringWriter();
        var e = new StringWriter();
        Console.SetOut(o);
        Console.SetError(e);
        try { return (LorsApp.Run(args), o.ToString(), e.ToString()); }
        finally { Console.SetOut(oldOut); Console.SetError(oldErr); }
    }
}
