"""Errors the CLI reports as one line."""


class CliError(Exception):
    """A one-line error; ``status`` is the exit status (2: a bad input file)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status
