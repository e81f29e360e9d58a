using Spectre.Console.Cli;

namespace Lors.Cli.Commands;

public sealed class BenchCommand : Command<CommonSettings>
{
    public override int Execute(CommandContext context, CommonSettings s, CancellationToken cancellationToken) => throw new NotImplementedException("Bench is not built yet");
}
