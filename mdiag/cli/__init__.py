"""Command-line layer: argparse subcommands, rendering, exit statuses."""
