using Spectre.Console.Cli;

namespace Lors.Cli.Commands;

public sealed class FinetuneCommand : Command<CommonSettings>
{
    public override int Execute(CommandContext context, CommonSettings s, CancellationToken cancellationToken) => throw new NotImplementedException("Finetune is not built yet");
}
