"""The ``pagemig`` command. Each subcommand lives in its own module and registers
itself in ``COMMANDS``; only this package prints or turns errors into exit codes."""

from __future__ import annotations

import sys
import traceback

from .app import app
from .errors import CliError


def main(argv: list[str] | None = None) -> int:
    """Entry point: one clear error line and exit status 1 on failure, never a
    traceback (``--debug`` shows it)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    try:
        app(args=args, prog_name="pagemig", standalone_mode=True)
    except CliError as err:
        if debug:
            traceback.print_exc()
        print(f"pagemig: error: {err}", file=sys.stderr)
        return err.status
    except (ValueError, TypeError, OSError) as err:
        if debug:
            traceback.print_exc()
        print(f"pagemig: error: {err}", file=sys.stderr)
        return 1
    except SystemExit as exit_:
        return int(exit_.code or 0)
    except Exception as err:  # a bug in pagemig itself
        if debug:
            traceback.print_exc()
        print(f"pagemig: internal error: {type(err).__name__}: {err} (rerun with --debug)",
              file=sys.stderr)
        return 2
    return 0
