"""The `zcnas` command line: one program, one subcommand per part of the project.

Each subcommand lives beside the code it drives and exposes ``configure_parser(parser)``,
which adds its flags and sets ``handler`` (a callable ``args -> exit code``). Heavy imports
(torch, ray) happen inside the handlers, so ``zcnas --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

# Subcommand name -> (module with `configure_parser`, one-line help).
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "space": ("gcn_models.cli_space", "print or sample the GCN search space"),
    "data": ("gcn_models.cli_data", "convert, check or synthesise skeleton datasets"),
    "score": ("zero_cost.cli", "score sampled architectures with zero-cost proxies"),
    "tune": ("tuning.cli_tune", "run a study: Optuna proposes, Ray Tune schedules"),
    "analyze": ("analysis.cli", "correlate proxies with trained metrics in result sets"),
}


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every subcommand attached."""
    parser = argparse.ArgumentParser(
        prog="zcnas",
        description="Zero-cost proxies and architecture search for skeleton GCNs.",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        child = sub.add_parser(name, help=help_text, description=help_text)
        module.configure_parser(child)
    return parser


def log_level(verbosity: int) -> int:
    """The logging level of ``-v`` flags: WARNING, INFO with ``-v``, DEBUG with ``-vv``."""
    return {0: logging.WARNING, 1: logging.INFO}.get(max(verbosity, 0), logging.DEBUG)


def configure_logging(verbosity: int) -> None:
    """Send library log records to stderr at a level chosen by ``-v`` flags.

    Tune's own INFO lines (``Wrote the latest version of all result files`` once per phase)
    follow the same flags: the study's progress line reports instead.
    """
    level = log_level(verbosity)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for name in ("gcn_models", "zero_cost", "analysis", "ray.tune"):
        logging.getLogger(name).setLevel(level)
    # Progress of long commands (the study's phases and restores, one line per architecture
    # scored) is shown without -v.
    for name in ("tuning", "zero_cost.cli"):
        logging.getLogger(name).setLevel(min(level, logging.INFO))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `zcnas` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except (ValueError, FileNotFoundError) as exc:
        # User-fixable input problems: one clear line, no traceback.
        logging.getLogger("zcnas").debug("details", exc_info=True)
        print(f"zcnas {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
