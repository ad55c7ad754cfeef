"""Parsing of human sizes ("64MiB", "1G", 4096) as the kernel's mem= options read them."""

from __future__ import annotations

import re

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}
_MAX_DIGITS = 24  # more bytes than 2**64, in any unit: nothing that size can exist
_SIZE = re.compile(r"^\s*(\d+)\s*([KMGTP]?)(?:I?B)?\s*$", re.IGNORECASE)


def parse_size(value: int | str, what: str = "size") -> int:
    """Bytes from an int or a string with a binary unit (K, KiB, M, MiB, ...)."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an int or a string like '64MiB', not a bool")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{what} must not be negative, got {value}")
        return value
    if not isinstance(value, str):
        raise TypeError(f"{what} must be an int or a string like '64MiB', not {type(value).__name__}")
    match = _SIZE.match(value)
    if match is None:
        raise ValueError(f"{what}: cannot read {excerpt(value)} as a size "
                         "(try '64MiB', '2G' or 4096)")
    if len(match.group(1).lstrip("0")) > _MAX_DIGITS:
        raise ValueError(f"{what}: {excerpt(value)} is more than any machine holds")
    return int(match.group(1)) * _UNITS[match.group(2).upper()]


def format_size(nbytes: int) -> str:
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= scale and nbytes % scale == 0:
            return f"{nbytes // scale}{unit}"
    return f"{nbytes}B"


def size_text(nbytes: int) -> str:
    """format_size, or an approximate figure when that would be a long number."""
    text = format_size(nbytes)
    return text if len(text) <= 16 else f"about {nbytes:.3g} bytes"


def excerpt(value: object, limit: int = 40) -> str:
    """repr(value) cut to about ``limit`` characters: an error message echoes no
    more than that of a huge input, and says how long it was."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"an integer of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = repr(value)
    if len(text) <= limit:
        return text
    if isinstance(value, str):
        return f"{text[:limit - 4]}...' ({len(value)} characters)"
    return f"{text[:limit - 4]}..."
