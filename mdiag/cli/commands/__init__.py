"""One module per subcommand; see mdiag.cli.main.COMMANDS."""
