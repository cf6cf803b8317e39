"""The proxy registry: name -> proxy class, filled by the ``@register_proxy`` decorator.

The built-in proxies register themselves when :mod:`zero_cost.proxies` is imported, which the
lookup functions here do on first use.
"""

from __future__ import annotations

import fnmatch
import importlib
import logging
from typing import Any, TypeVar

from zero_cost.base import BaseProxy

logger = logging.getLogger(__name__)

_REGISTRY: dict[str, type[BaseProxy]] = {}
_BUILTINS_LOADED = False

P = TypeVar("P", bound=type[BaseProxy])

# Names users try that are not per-network proxies, with where to look instead.
_NOT_PER_NETWORK = {
    "vote": "`vote` compares architectures, so it is computed over a table of scores: "
    "zero_cost.vote_copeland / zero_cost.vote_pairwise_accuracy",
}


def register_proxy(cls: P | None = None, *, overwrite: bool = False) -> Any:
    """Class decorator adding a :class:`BaseProxy` subclass to the registry under ``cls.name``.

    Usable bare (``@register_proxy``) or with options (``@register_proxy(overwrite=True)``).

    Raises:
        ValueError: If the name is taken and ``overwrite`` is false, or the class has no name.
    """

    def add(proxy_cls: P) -> P:
        name = getattr(proxy_cls, "name", None)
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                f"{proxy_cls.__name__}: a proxy needs a class attribute `name` that is a valid "
                f"identifier (it becomes the column zc_<name>), got {name!r}"
            )
        if name in _REGISTRY and not overwrite and _REGISTRY[name] is not proxy_cls:
            raise ValueError(
                f"proxy `{name}` is already registered ({_REGISTRY[name].__qualname__}); "
                "pass overwrite=True to replace it"
            )
        _REGISTRY[name] = proxy_cls
        return proxy_cls

    return add if cls is None else add(cls)


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True
        importlib.import_module("zero_cost.proxies")


def list_proxies(pattern: str | None = None) -> list[str]:
    """Registered proxy names, sorted, optionally filtered by a shell pattern (``"grad*"``)."""
    _load_builtins()
    names = sorted(_REGISTRY)
    return names if pattern is None else fnmatch.filter(names, pattern)


def get_proxy_class(name: str) -> type[BaseProxy]:
    """The class registered under ``name``.

    Raises:
        ValueError: For an unknown name, listing the valid ones.
    """
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        hint = _NOT_PER_NETWORK.get(name)
        message = f"unknown proxy `{name}`; valid proxies: {', '.join(list_proxies())}"
        raise ValueError(f"{message}. {hint}" if hint else message) from None


def create_proxy(name: str, **options: Any) -> BaseProxy:
    """Instantiate the proxy registered under ``name`` with its options (e.g. ``repeats=``).

    Raises:
        ValueError: For an unknown name or an option the proxy does not take.
    """
    cls = get_proxy_class(name)
    try:
        return cls(**options)
    except TypeError as exc:
        raise ValueError(
            f"proxy `{name}` does not accept options {sorted(options)}: {exc}"
        ) from exc
