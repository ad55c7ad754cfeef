"""Errors the CLI reports as one line."""


class CliError(Exception):
    pass
