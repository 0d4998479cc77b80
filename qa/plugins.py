"""Backends by name, built in or added by installed packages, for every entry-point group qa reads (`qa.llm`,
`qa.embed`): one record says how to build a backend from Settings and whether one instance may be shared."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from .config import Settings
from .errors import ConfigError


@dataclass(frozen=True)
class Backend:
    """How to build one backend, as simonw/llm's `register_models` records a model.

    `build(settings)` makes it. `shared`: one instance per process may serve every engine whose settings give
    the same `key(settings)` (a model loaded once); otherwise each use builds its own (a client that holds a
    key is cheap and private). A package adds one with an entry point whose object is a Backend.
    """

    name: str
    build: Callable[[Settings], Any]
    shared: bool = True
    key: Callable[[Settings], Hashable] = lambda settings: ()


def names(group: str, built_in: dict[str, Backend]) -> list[str]:
    """Every backend of a group by name: the built-in ones, then those installed packages add."""
    return list(dict.fromkeys([*built_in, *(ep.name for ep in entry_points(group=group))]))


def choose(group: str, built_in: dict[str, Backend], name: str, setting: str) -> Backend:
    """The backend called `name` (an entry point is loaded only when chosen), or a ConfigError naming the
    ones there are."""
    if name in built_in:
        return built_in[name]
    for ep in entry_points(group=group):
        if ep.name == name:
            got = ep.load()
            if not isinstance(got, Backend):
                raise ConfigError(f"The plugin {name!r} ({group}) gives {got!r}, not a qa.plugins.Backend.")
            return got
    raise ConfigError(f"Unknown {setting} {name!r}; use one of: {', '.join(names(group, built_in))}.")
