"""Flag defaults from ``SLOGATE_*`` environment variables, read and checked only when used.

Every ``slogate run`` flag has a variable, so the Helm chart and a shell configure the operator the
same way. Their values are read after the command line is parsed, and only for ``slogate run``:
the parser of every command holds ``run``'s flags, and a bad ``SLOGATE_METRICS_PORT`` must not
break ``slogate status``. A value that does not convert stops ``slogate run`` with one line naming
the variable, its value and what to write instead, never a traceback. A flag on the command line
wins over its variable; an appending flag (``--namespace``) adds to its variable's values. An empty
variable counts as unset, as an empty ``env`` entry of a pod usually means.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


def port(text: str) -> int:
    """A TCP port number."""
    if not text.strip().isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port; use a number from 1 to 65535")
    return int(text)


def choice(kind: Callable[[str], Any], choices: Sequence[str]) -> Callable[[str], Any]:
    """A converter to one of ``choices`` that names them when the text is none of them."""

    def convert(text: str) -> Any:
        if text not in choices:
            raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(choices)}")
        return kind(text)

    convert.__name__ = getattr(kind, "__name__", "choice")
    return convert


def boolean(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"{text!r} is not true or false")
    return text.lower() == "true"


@dataclass(frozen=True)
class FromEnvironment:
    """A flag's default: ``SLOGATE_<variable>`` converted as the flag is, else ``fallback``."""

    variable: str
    convert: Callable[[str], Any] = str
    fallback: Any = None

    @property
    def name(self) -> str:
        return f"SLOGATE_{self.variable}"

    def value(self) -> Any:
        raw = os.environ.get(self.name)
        if not raw:
            return self.fallback
        try:
            return self.convert(raw)
        except (argparse.ArgumentTypeError, ValueError) as error:
            raise SystemExit(f"slogate run: {self.name}={raw!r}: {error}") from None


@dataclass(frozen=True)
class Appended:
    """An appending flag's values from the command line, kept apart from its variable's."""

    environment: FromEnvironment
    given: tuple[Any, ...]


class AppendAfterEnvironment(argparse.Action):
    """``action="append"`` for a flag whose default is a FromEnvironment, which argparse's own
    append would try to extend."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        current = getattr(namespace, self.dest)
        if isinstance(current, FromEnvironment):
            current = Appended(current, ())
        setattr(namespace, self.dest, Appended(current.environment, (*current.given, values)))


def resolve_environment(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with every default still standing replaced by its variable's value."""
    for key, value in vars(args).items():
        if isinstance(value, FromEnvironment):
            setattr(args, key, value.value())
        elif isinstance(value, Appended):
            setattr(args, key, [*(value.environment.value() or ()), *value.given])
    return args
