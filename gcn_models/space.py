"""The GCN search space as data: choices, conditions, canonical form and architecture keys.

The space is read from YAML (``spaces/default.yaml`` ships the 20 choices of the infant
cerebral-palsy framework). It holds three things:

* ``choices``: ordered name -> tuple of values (ints for numbers, strings for words; the
  "none" option is the string ``"null"``).
* collapse rules: a value that builds the same network as another under stated conditions is
  replaced by it (for example ``linear`` temporal scales with one module equal ``1``).
* activity conditions: a choice that cannot change the network given earlier choices is
  *inactive*; it is ``None`` in the canonical form and is never suggested to Optuna.

Two configurations that build the same network have the same canonical form and therefore
the same :meth:`SearchSpace.arch_key`. Conditions may only refer to choices earlier in the
order, so the space can be walked in one pass: by :meth:`SearchSpace.canonical`,
:meth:`SearchSpace.sample` and the define-by-run :meth:`SearchSpace.suggest`.

Example::

    space = default_space().restrict(graph=["spatial"], num_main_levels=[1])
    arch = space.sample(0)
    key = space.arch_key(arch)
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from gcn_models.mapping_file import read_mapping_file

if TYPE_CHECKING:
    import optuna

logger = logging.getLogger(__name__)

Value = int | str
_DEFAULT_SPACE_FILE = Path(__file__).with_name("spaces") / "default.yaml"
_MISSING = object()  # marks an earlier choice absent from a partial configuration


class _UndeterminedError(ValueError):
    """A condition refers to a choice whose value is not known."""


@dataclass(frozen=True)
class _Possible:
    """The value of a choice in a partial configuration is one of these (collapse unknown)."""

    values: frozenset[Value]


def _is_value(value: object) -> bool:
    """True for the value types a choice may hold: int (not bool) or str."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _describe(values: Iterable[object]) -> str:
    return ", ".join(json.dumps(v) for v in values)


@dataclass(frozen=True)
class Condition:
    """A test on one earlier choice: its (collapsed) value is, or is not, in a set.

    Attributes:
        choice: Name of the choice tested.
        values: The values of the set.
        negate: ``False`` for "value in values", ``True`` for "value not in values".
    """

    choice: str
    values: tuple[Value, ...]
    negate: bool = False

    def holds(self, config: Mapping[str, Any]) -> bool:
        """Evaluate on a (partial) canonical configuration.

        Raises:
            ValueError: If the tested choice is absent from ``config``.
        """
        value = config.get(self.choice, _MISSING)
        if value is _MISSING:
            raise _UndeterminedError(
                f"condition on `{self.choice}` needs that choice's value, which is missing"
            )
        if isinstance(value, _Possible):
            outcomes = {(v in self.values) != self.negate for v in value.values}
            if len(outcomes) > 1:
                raise _UndeterminedError(f"the value of `{self.choice}` is not determined")
            return outcomes.pop()
        return (value in self.values) != self.negate

    def to_dict(self) -> dict[str, list[Value]]:
        """Serialise as ``{"in": [...]}`` or ``{"not_in": [...]}``."""
        return {"not_in" if self.negate else "in": list(self.values)}


@dataclass(frozen=True)
class CollapseRule:
    """Replace values of one choice by equivalent ones when all conditions hold.

    Attributes:
        choice: The choice whose value is replaced.
        when: Conditions on earlier choices, all of which must hold.
        mapping: Pairs (value, replacement).
        reason: Why the two values build the same network (shown by the CLI).
    """

    choice: str
    when: tuple[Condition, ...]
    mapping: tuple[tuple[Value, Value], ...]
    reason: str = ""

    def apply(self, value: Value, config: Mapping[str, Any]) -> Value:
        """Return the replacement of ``value`` if the rule applies, else ``value``."""
        if value not in dict(self.mapping) or not all(cond.holds(config) for cond in self.when):
            return value
        return dict(self.mapping).get(value, value)

    def to_dict(self) -> dict[str, Any]:
        """Serialise in the YAML file format."""
        return {
            "choice": self.choice,
            "when": {c.choice: c.to_dict() for c in self.when},
            "map": [[old, new] for old, new in self.mapping],
            "reason": self.reason,
        }


@dataclass(frozen=True)
class SearchSpace:
    """An ordered set of categorical choices with collapse rules and activity conditions.

    Build one with :func:`default_space`, :meth:`from_file` or :meth:`from_dict`; the object is
    immutable (``restrict`` and ``with_values`` return new spaces).

    Attributes:
        choice_items: Ordered (name, values) pairs; :attr:`choices` is the mapping view.
        collapse_rules: Value replacements, applied in order.
        activity: Per choice, alternatives (any of) of condition groups (all of).
    """

    choice_items: tuple[tuple[str, tuple[Value, ...]], ...]
    collapse_rules: tuple[CollapseRule, ...] = ()
    activity: tuple[tuple[str, tuple[tuple[Condition, ...], ...]], ...] = ()

    def __post_init__(self) -> None:
        _validate_space(self)

    # ----------------------------------------------------------------------------- views

    @property
    def choices(self) -> Mapping[str, tuple[Value, ...]]:
        """Read-only ordered mapping name -> tuple of values."""
        return MappingProxyType(dict(self.choice_items))

    @property
    def names(self) -> tuple[str, ...]:
        """Choice names in order."""
        return tuple(name for name, _ in self.choice_items)

    def _rules_for(self, name: str) -> list[CollapseRule]:
        return [rule for rule in self.collapse_rules if rule.choice == name]

    def _alternatives(self, name: str) -> tuple[tuple[Condition, ...], ...] | None:
        for choice, alternatives in self.activity:
            if choice == name:
                return alternatives
        return None

    def _accepted(self, name: str) -> tuple[Value, ...]:
        """Listed values plus collapse targets (so canonical forms are accepted again)."""
        extra = [new for rule in self._rules_for(name) for _, new in rule.mapping]
        listed = self.choices[name]
        return listed + tuple(v for v in dict.fromkeys(extra) if v not in listed)

    # ----------------------------------------------------------------------------- walking

    def _active_in(self, name: str, partial: Mapping[str, Any]) -> bool:
        alternatives = self._alternatives(name)
        if alternatives is None:
            return True
        return any(all(cond.holds(partial) for cond in group) for group in alternatives)

    def _collapse(self, name: str, value: Value, partial: Mapping[str, Any]) -> Any:
        """Apply the collapse rules of ``name``; a :class:`_Possible` set when undecidable."""
        possible = {value}
        for rule in self._rules_for(name):
            after = set()
            for candidate in possible:
                try:
                    after.add(rule.apply(candidate, partial))
                except _UndeterminedError:
                    after |= {candidate, dict(rule.mapping).get(candidate, candidate)}
            possible = after
        return possible.pop() if len(possible) == 1 else _Possible(frozenset(possible))

    def _walk(
        self, pick: Callable[[str, tuple[Value, ...]], Any], *, stop: str | None = None
    ) -> dict[str, Any]:
        """One ordered pass: ``pick(name, values)`` is asked only for active choices.

        ``pick`` may return ``_MISSING`` (partial configurations); choices whose activity or
        collapse depends on a missing one become ``_MISSING`` too. The pass ends before
        ``stop`` when given.
        """
        out: dict[str, Any] = {}
        for name, values in self.choice_items:
            if name == stop:
                break
            try:
                if not self._active_in(name, out):
                    out[name] = None
                    continue
                value = pick(name, values)
                out[name] = value if value is _MISSING else self._collapse(name, value, out)
            except _UndeterminedError:
                out[name] = _MISSING
        return out

    def _match(self, name: str, value: object, *, allow_unlisted: bool = False) -> Value:
        """The space's own value equal to ``value`` (also matched by its text form)."""
        accepted = self._accepted(name)
        if _is_value(value) and value in accepted:
            return value  # type: ignore[return-value]
        for candidate in accepted:
            if _is_value(value) and str(candidate) == str(value):
                return candidate
        if allow_unlisted and _is_value(value):
            numeric = all(isinstance(v, int) for v in self.choices[name])
            if isinstance(value, int) or not numeric:
                return value  # type: ignore[return-value]
            if isinstance(value, str) and value.lstrip("-").isdigit():
                return int(value)
        raise ValueError(
            f"invalid value {value!r} for choice `{name}`; valid values: "
            f"{_describe(self.choices[name])}"
        )

    # ----------------------------------------------------------------------------- public API

    def is_active(self, name: str, partial_config: Mapping[str, Any]) -> bool:
        """Whether choice ``name`` can change the network, given the earlier choices.

        Args:
            name: A choice name.
            partial_config: Values of (at least) the earlier choices the condition refers
                to; raw or canonical, later choices are ignored.

        Raises:
            ValueError: For an unknown name, an invalid value, or when a choice that the
                condition needs is missing from ``partial_config``.
        """
        self._check_names([name])

        def pick(choice: str, _values: tuple[Value, ...]) -> Any:
            raw = partial_config.get(choice)
            return _MISSING if raw is None else self._match(choice, raw)

        earlier = self._walk(pick, stop=name)
        try:
            return self._active_in(name, earlier)
        except _UndeterminedError:
            alternatives = self._alternatives(name) or ()
            needed = {c.choice for group in alternatives for c in group}
            missing = [
                n
                for n, v in earlier.items()
                if (v is _MISSING or isinstance(v, _Possible)) and n in needed
            ]
            raise ValueError(
                f"cannot tell whether `{name}` is active: it depends on choices that are missing "
                f"from the partial configuration or collapse depending on missing ones "
                f"({', '.join(missing)})"
            ) from None

    def canonical(
        self, config: Mapping[str, Any], *, allow_unlisted: bool = False
    ) -> dict[str, Any]:
        """Validate a configuration and return its canonical form.

        Every choice name is present, in the space's order; inactive choices are ``None``;
        values that build the same network as another are replaced by it.

        Args:
            config: Name -> value for every active choice (inactive ones may be absent or
                ``None``). Values may also be given in text form (``"6"`` for ``6``), as they
                come back from text columns.
            allow_unlisted: Accept values outside the listed ones if their type fits the
                choice (used when building networks from extended spaces).

        Raises:
            ValueError: For unknown names, invalid values or missing active choices; the
                message lists the valid names or values.
        """
        if not isinstance(config, Mapping):
            raise ValueError(f"an architecture must be a mapping, got {type(config).__name__}")
        self._check_names(config)
        for name, raw in config.items():
            if raw is not None:
                self._match(name, raw, allow_unlisted=allow_unlisted)

        def pick(name: str, values: tuple[Value, ...]) -> Value:
            raw = config.get(name)
            if raw is None:
                raise ValueError(
                    f"choice `{name}` is active in this configuration but missing or None; "
                    f"valid values: {_describe(values)}"
                )
            return self._match(name, raw, allow_unlisted=allow_unlisted)

        return self._walk(pick)

    def arch_key(self, config: Mapping[str, Any]) -> str:
        """Stable 12-hex-digit key of the canonical form (sha1 of its sorted-key JSON).

        Identical across runs, processes and machines; two configurations that build the same
        network share a key.
        """
        canonical = self.canonical(config, allow_unlisted=True)
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]

    def sample(self, rng: np.random.Generator | int) -> dict[str, Any]:
        """Draw one canonical architecture, each active choice uniformly over its values.

        Args:
            rng: A NumPy generator (advanced in place) or an int seed.
        """
        if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
            generator = np.random.default_rng(int(rng))
        elif isinstance(rng, np.random.Generator):
            generator = rng
        else:
            raise ValueError(
                f"`rng` must be a numpy Generator or an int seed, got {type(rng).__name__}"
            )

        def pick(_name: str, values: tuple[Value, ...]) -> Value:
            return values[int(generator.integers(len(values)))]

        return self._walk(pick)

    def suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Define-by-run sampling: suggest the active choices, in order, on an Optuna trial.

        Calls ``trial.suggest_categorical(name, values)`` only for active choices, always with
        the full value list of that choice, so distributions never change between trials.

        Returns:
            The canonical architecture.
        """
        return self._walk(lambda name, values: trial.suggest_categorical(name, list(values)))

    def size(self, collapsed: bool = False) -> int:
        """Number of configurations: all combinations, or distinct canonical forms.

        The collapsed count is exact: the choices that take part in any rule or condition are
        enumerated, the others multiply.
        """
        total = math.prod(len(values) for _, values in self.choice_items)
        if not collapsed:
            return total
        involved = set()
        for rule in self.collapse_rules:
            involved |= {rule.choice, *(c.choice for c in rule.when)}
        for name, alternatives in self.activity:
            involved |= {name, *(c.choice for group in alternatives for c in group)}
        ordered = [name for name in self.names if name in involved]
        free = math.prod(len(self.choices[n]) for n in self.names if n not in involved)
        first = {name: values[0] for name, values in self.choice_items}
        distinct = set()
        for combo in itertools.product(*(self.choices[n] for n in ordered)):
            canonical = self.canonical({**first, **dict(zip(ordered, combo, strict=True))})
            distinct.add(tuple(canonical[n] for n in ordered))
        return len(distinct) * free

    def with_values(self, **values: Sequence[Value]) -> SearchSpace:
        """Return a space whose listed choices take new value lists (restrict or extend).

        Raises:
            ValueError: For unknown names or malformed value lists.
        """
        self._check_names(values)
        items = tuple(
            (name, tuple(values[name]) if name in values else old)
            for name, old in self.choice_items
        )
        return SearchSpace(items, self.collapse_rules, self.activity)

    def restrict(self, **values: Sequence[Value]) -> SearchSpace:
        """Return a space that keeps only the given values of the named choices.

        Raises:
            ValueError: For unknown names, or values that are not in the current space.
        """
        self._check_names(values)
        for name, subset in values.items():
            if isinstance(subset, (str, bytes)) or not isinstance(subset, Sequence):
                raise ValueError(f"restrict `{name}`: expected a list of values, got {subset!r}")
            unknown = [v for v in subset if v not in self.choices[name] or not _is_value(v)]
            if unknown:
                raise ValueError(
                    f"restrict `{name}`: {_describe(unknown)} not in the space; valid values: "
                    f"{_describe(self.choices[name])}"
                )
        return self.with_values(**values)

    def to_dict(self) -> dict[str, Any]:
        """Serialise in the YAML/JSON file format (``from_dict`` reads it back)."""
        return {
            "choices": {name: list(values) for name, values in self.choice_items},
            "collapse": [rule.to_dict() for rule in self.collapse_rules],
            "active_when": {
                name: [{c.choice: c.to_dict() for c in group} for group in alternatives]
                for name, alternatives in self.activity
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> SearchSpace:
        """Build a space from a full definition (``choices``, ``collapse``, ``active_when``).

        Raises:
            ValueError: Naming ``source`` and the field that is malformed.
        """
        return _space_from_dict(data, source=source)

    @classmethod
    def from_file(cls, path: str | Path, *, base: SearchSpace | None = None) -> SearchSpace:
        """Read a space from a YAML or JSON file.

        Two forms are accepted:

        * an override: ``{choices: {name: [values]}}`` or just ``{name: [values]}``; the
          listed choices of ``base`` (default: :func:`default_space`) get the new value lists,
          which may restrict or extend them; rules and conditions are kept;
        * a full definition with ``collapse`` and/or ``active_when`` (what :meth:`to_dict`
          writes).

        Raises:
            ValueError: If the file cannot be parsed or a field is malformed; the message
                names the file and the field.
        """
        path = Path(path)
        data = _read_mapping(path)
        source = str(path)
        if "collapse" in data or "active_when" in data:
            return _space_from_dict(data, source=source)
        overrides = data.get("choices", data) if isinstance(data.get("choices"), dict) else data
        unknown_top = set(data) - {"choices"} if "choices" in data else set()
        if unknown_top:
            raise ValueError(f"{source}: unknown top-level field(s) {sorted(unknown_top)}")
        base = base or default_space()
        parsed = {
            name: _parse_values(values, f"{source}: choices.{name}")
            for name, values in overrides.items()
        }
        try:
            return base.with_values(**parsed)
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None

    def _check_names(self, names: Iterable[str]) -> None:
        unknown = [n for n in names if n not in self.names]
        if unknown:
            raise ValueError(
                f"unknown choice name(s) {', '.join(map(repr, unknown))}; valid names: "
                f"{', '.join(self.names)}"
            )


def _validate_space(space: SearchSpace) -> None:
    names = [name for name, _ in space.choice_items]
    if len(set(names)) != len(names):
        raise ValueError(f"search space repeats choice names: {names}")
    order = {name: i for i, name in enumerate(names)}
    for name, values in space.choice_items:
        if not values:
            raise ValueError(f"choice `{name}` has no values")
        for value in values:
            if value is None:
                raise ValueError(
                    f"choice `{name}`: None is not a value; the 'none' option is the string "
                    '"null" (quote it in YAML)'
                )
            if not _is_value(value):
                raise ValueError(f"choice `{name}`: value {value!r} must be an int or a string")
        if len(set(values)) != len(values):
            raise ValueError(f"choice `{name}` repeats values: {_describe(values)}")

    def check_refers(target: str, conditions: Iterable[Condition], what: str) -> None:
        if target not in order:
            raise ValueError(f"{what} names unknown choice `{target}`")
        for cond in conditions:
            if cond.choice not in order:
                raise ValueError(f"{what} for `{target}` tests unknown choice `{cond.choice}`")
            if order[cond.choice] >= order[target]:
                raise ValueError(
                    f"{what} for `{target}` tests `{cond.choice}`, which does not come earlier "
                    "in the choice order (conditions may only look back)"
                )

    for rule in space.collapse_rules:
        check_refers(rule.choice, rule.when, "collapse rule")
    for name, alternatives in space.activity:
        check_refers(name, [c for group in alternatives for c in group], "active_when")


def _parse_values(raw: object, where: str) -> tuple[Value, ...]:
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence):
        raise ValueError(f"{where}: expected a list of values, got {raw!r}")
    for i, value in enumerate(raw):
        if value is None:
            raise ValueError(
                f'{where}[{i}]: YAML null is not a value; write the string "null" (quoted)'
            )
        if not _is_value(value):
            raise ValueError(f"{where}[{i}]: {value!r} must be an int or a string")
    return tuple(raw)


def _parse_condition(choice: str, raw: object, where: str) -> Condition:
    if isinstance(raw, Mapping):
        if set(raw) == {"in"}:
            return Condition(choice, _parse_values(raw["in"], f"{where}.in"))
        if set(raw) == {"not_in"}:
            return Condition(choice, _parse_values(raw["not_in"], f"{where}.not_in"), True)
        raise ValueError(f"{where}: expected a list, {{in: [...]}} or {{not_in: [...]}}")
    return Condition(choice, _parse_values(raw, where))


def _parse_group(raw: object, where: str) -> tuple[Condition, ...]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a mapping choice -> condition, got {raw!r}")
    return tuple(_parse_condition(str(k), v, f"{where}.{k}") for k, v in raw.items())


def _space_from_dict(data: Mapping[str, Any], *, source: str) -> SearchSpace:
    if not isinstance(data, Mapping):
        raise ValueError(f"{source}: a search space must be a mapping")
    unknown = set(data) - {"choices", "collapse", "active_when"}
    if unknown:
        raise ValueError(
            f"{source}: unknown top-level field(s) {sorted(unknown)}; expected choices, "
            "collapse, active_when"
        )
    raw_choices = data.get("choices")
    if not isinstance(raw_choices, Mapping) or not raw_choices:
        raise ValueError(f"{source}: `choices` must be a non-empty mapping name -> values")
    items = tuple(
        (str(name), _parse_values(values, f"{source}: choices.{name}"))
        for name, values in raw_choices.items()
    )
    values_of = dict(items)

    rules = []
    for i, raw in enumerate(data.get("collapse") or []):
        where = f"{source}: collapse[{i}]"
        if not isinstance(raw, Mapping) or "choice" not in raw or "map" not in raw:
            raise ValueError(f"{where}: expected a mapping with `choice`, `when` and `map`")
        choice = str(raw["choice"])
        if choice not in values_of:
            raise ValueError(f"{where}.choice: unknown choice `{choice}`")
        pairs = raw["map"].items() if isinstance(raw["map"], Mapping) else raw["map"]
        mapping = []
        for old, new in pairs:
            # JSON turns int keys into text: resolve the key against the choice's values.
            resolved = next((v for v in values_of[choice] if str(v) == str(old)), None)
            if resolved is None:
                raise ValueError(
                    f"{where}.map: {old!r} is not a value of `{choice}`; valid values: "
                    f"{_describe(values_of[choice])}"
                )
            mapping.append((resolved, _parse_values([new], f"{where}.map.{old}")[0]))
        rules.append(
            CollapseRule(
                choice,
                _parse_group(raw.get("when") or {}, f"{where}.when"),
                tuple(mapping),
                str(raw.get("reason", "")),
            )
        )

    activity = []
    raw_activity = data.get("active_when") or {}
    if not isinstance(raw_activity, Mapping):
        raise ValueError(f"{source}: `active_when` must be a mapping choice -> alternatives")
    for name, alternatives in raw_activity.items():
        where = f"{source}: active_when.{name}"
        if isinstance(alternatives, Mapping):
            alternatives = [alternatives]
        if not isinstance(alternatives, Sequence) or isinstance(alternatives, str):
            raise ValueError(f"{where}: expected a list of condition mappings")
        groups = tuple(_parse_group(g, f"{where}[{i}]") for i, g in enumerate(alternatives))
        activity.append((str(name), groups))
    try:
        return SearchSpace(items, tuple(rules), tuple(activity))
    except ValueError as exc:
        raise ValueError(f"{source}: {exc}") from None


def _read_mapping(path: Path) -> dict[str, Any]:
    return read_mapping_file(path, "search-space")


_DEFAULT: SearchSpace | None = None


def default_space() -> SearchSpace:
    """The shipped 20-choice space (``spaces/default.yaml``), loaded once."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = _space_from_dict(
            _read_mapping(_DEFAULT_SPACE_FILE), source=str(_DEFAULT_SPACE_FILE)
        )
    return _DEFAULT
