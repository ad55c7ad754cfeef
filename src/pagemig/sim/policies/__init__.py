"""Placement policies for the replay (the interface is in ``base``).

Built in: ``first-touch``, ``interleave``, ``bind``, ``hot-cold``, ``damos``
and ``oracle``; ``make_policy("path/to/file.py:ClassName", ...)`` loads a
user's own.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from .base import EpochStats, MigrationResult, NoParams, Policy, PolicyContext, parse_params
from .damos import Damos
from .hotcold import HotCold
from .mempolicy import Bind, FirstTouch, Interleave
from .oracle import Oracle

BUILTIN: dict[str, type[Policy]] = {
    cls.name: cls for cls in (FirstTouch, Interleave, Bind, HotCold, Damos, Oracle)
}


def load_policy_class(spec: str) -> type[Policy]:
    """A built-in policy by name, or ``FILE.py:ClassName`` from a file."""
    if spec in BUILTIN:
        return BUILTIN[spec]
    path_text, sep, class_name = spec.rpartition(":")
    if not sep or not path_text.endswith(".py"):
        raise ValueError(f"unknown policy {spec!r}: built in are {', '.join(BUILTIN)}, "
                         "or give FILE.py:ClassName")
    path = Path(path_text)
    if not path.is_file():
        raise ValueError(f"{path}: no such policy file")
    module_name = f"pagemig_user_policy_{abs(hash(str(path.resolve())))}"
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise ValueError(f"{path}: cannot load as Python")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module  # dataclasses look their module up while the file runs
    try:
        loader_spec.loader.exec_module(module)
    except Exception as err:
        sys.modules.pop(module_name, None)
        raise ValueError(f"{path}: the policy file failed to load: {type(err).__name__}: {err}") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Policy)):
        raise ValueError(f"{path}: no Policy subclass named {class_name!r}")
    return cls


def make_policy(spec: str, params: dict[str, str] | None = None) -> Policy:
    """A policy from its name (``damos:FILE`` gives damos its scheme file) and
    ``name=text`` parameters, validated by its ``Params`` dataclass."""
    values = dict(params or {})
    if spec.startswith("damos:"):
        spec, values["schemes"] = "damos", spec[len("damos:"):]
    cls = load_policy_class(spec)
    try:
        return cls(parse_params(cls.Params, values))
    except (TypeError, ValueError) as err:
        raise ValueError(f"policy {cls.name}: {err}") from None


__all__ = [
    "BUILTIN", "Bind", "Damos", "EpochStats", "FirstTouch", "HotCold", "Interleave", "MigrationResult",
    "NoParams", "Oracle", "Policy", "PolicyContext", "load_policy_class", "make_policy", "parse_params",
]
