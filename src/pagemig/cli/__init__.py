"""The ``pagemig`` command. Each subcommand lives in its own module and registers
itself in ``COMMANDS``; only this package prints or turns errors into exit codes."""

from __future__ import annotations

import sys
import traceback

from ..mm.bug import KernelBug
from .app import app
from .errors import CliError, oops_message


def main(argv: list[str] | None = None) -> int:
    """Entry point: one clear error line and exit status 1 on failure, never a
    traceback (``--debug`` shows it). A real kernel oops the model reproduces
    (KernelBug with ``kernel`` set) is "Linux 2.6.35 would oops here: ..."
    (status 1); any other KernelBug is a model assertion, an internal error."""
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
    except Exception as err:  # a bug in pagemig itself, or a kernel oops it reproduces
        if debug:
            traceback.print_exc()
        if isinstance(err, KernelBug) and err.kernel is not None:
            print(f"pagemig: {oops_message(err.kernel, str(err))}", file=sys.stderr)
            return 1
        print(f"pagemig: internal error: {type(err).__name__}: {err} (rerun with --debug)",
              file=sys.stderr)
        return 2
    return 0
