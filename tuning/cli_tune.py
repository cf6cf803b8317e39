"""Placeholder subcommand: replaced by the part that owns it."""

import argparse


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Attach a handler that says the subcommand is not built yet."""
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    raise ValueError("this subcommand is not built yet")
