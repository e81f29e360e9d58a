// The `lors` tool's entry point; the command table lives in LorsApp so tests can run commands in-process.
return Lors.Cli.LorsApp.Run(args);
