"""Where built runners and downloaded kernels are kept (never in the repo)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$PAGEMIG_CACHE``, else ``$XDG_CACHE_HOME/pagemig``, else ``~/.cache/pagemig``."""
    env = os.environ.get("PAGEMIG_CACHE")
    if env:
        path = Path(env)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "pagemig"
    path.mkdir(parents=True, exist_ok=True)
    return path
