using Spectre.Console.Cli;

namespace Lors.Cli.Commands;

public sealed class DemoCommand : Command<CommonSettings>
{
    public override int Execute(CommandContext context, CommonSettings s, CancellationToken cancellationToken) => throw new NotImplementedException("Demo is not built yet");
}
