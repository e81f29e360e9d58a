using Spectre.Console.Cli;

namespace Lors.Cli.Commands;

public sealed class PruneCommand : Command<CommonSettings>
{
    public override int Execute(CommandContext context, CommonSettings s, CancellationToken cancellationToken) => throw new NotImplementedException("Prune is not built yet");
}
