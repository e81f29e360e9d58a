using Spectre.Console.Cli;

namespace Lors.Cli.Commands;

public sealed class SelfTestCommand : Command<CommonSettings>
{
    public override int Execute(CommandContext context, CommonSettings s, CancellationToken cancellationToken) => throw new NotImplementedException("SelfTest is not built yet");
}
