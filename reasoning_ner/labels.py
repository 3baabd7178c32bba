"""Entity-type (label) policy: normalisation, uninformative types and the alias map.

* `normalize_label` lower-cases and strips a type name and collapses inner whitespace.
* Uninformative types (`misc`, `else`, `other`, ...) carry no meaning a model could use, so they are dropped from
  schemas and gold answers by default (`LabelPolicy.drop_uninformative`).
* The alias map (YAML, `config/labels/aliases.yaml`) maps spelling variants onto one canonical type, e.g.
  `organisation -> organization`. It is applied to schemas, gold and predictions alike under the default protocol.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from .paths import CONFIG_DIR

if TYPE_CHECKING:
    from .data import Entity, Example

UNINFORMATIVE_TYPES: frozenset[str] = frozenset(
    {"misc", "else", "other", "others", "na", "n a", "n/a", "nan", "empty", ""}
)
# The reference implementation's list (its labels are lower-cased and stripped before the check).
PAPER_UNINFORMATIVE_TYPES: frozenset[str] = frozenset({"na", "n a", "misc", "else", "other", "nan", ""})
DEFAULT_ALIAS_FILE = CONFIG_DIR / "labels" / "aliases.yaml"


def normalize_label(label: str) -> str:
    """Lower-case, strip and collapse whitespace (`"Restaurant  Name "` -> `"restaurant name"`)."""
    return " ".join(str(label).split()).lower()


def load_alias_map(path: str | Path | None = DEFAULT_ALIAS_FILE) -> dict[str, str]:
    """Read a YAML mapping `variant: canonical` (keys and values normalised). `None` gives an empty map."""
    if path is None:
        return {}
    path = Path(path)
    with path.open(encoding="utf-8") as f:
        raw = yaml.safe_load(f) or {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"{path}: the alias map must be a YAML mapping of variant -> canonical type")
    aliases = raw.get("aliases", raw)
    out: dict[str, str] = {}
    for k, v in aliases.items():
        if not isinstance(v, str):
            raise ValueError(f"{path}: alias {k!r} must map to a string, got {type(v).__name__}")
        out[normalize_label(k)] = normalize_label(v)
    return out


@dataclass
class LabelPolicy:
    """How type names are normalised, filtered and merged."""

    drop_uninformative: bool = True
    uninformative: frozenset[str] = UNINFORMATIVE_TYPES
    aliases: dict[str, str] = field(default_factory=dict)

    @classmethod
    def default(cls) -> LabelPolicy:
        return cls(aliases=load_alias_map(DEFAULT_ALIAS_FILE) if DEFAULT_ALIAS_FILE.exists() else {})

    @classmethod
    def paper(cls) -> LabelPolicy:
        """The reference implementation: lower-case only, drop its uninformative types, no alias map."""
        return cls(uninformative=PAPER_UNINFORMATIVE_TYPES, aliases={})

    @classmethod
    def named(cls, name: str) -> LabelPolicy:
        """The policy of a `--label_policy` option: `default` or `paper`; any other name is a ValueError."""
        if name not in ("default", "paper"):
            raise ValueError(f"--label_policy must be default or paper, not {name!r}")
        return cls.paper() if name == "paper" else cls.default()

    def canonical(self, label: str) -> str:
        try:
            return self._cache[label]
        except KeyError:
            lab = normalize_label(label)
            out = self._cache[label] = self.aliases.get(lab, lab)
            return out

    def is_uninformative(self, label: str) -> bool:
        return self.drop_uninformative and (label in self.uninformative or normalize_label(label) in self.uninformative)

    def __post_init__(self) -> None:
        self._cache: dict[str, str] = {}

    def __setattr__(self, name, value) -> None:
        super().__setattr__(name, value)
        if name == "aliases":  # a new alias map invalidates the cache
            super().__setattr__("_cache", {})

    def schema(self, labels: Iterable[str]) -> list[str]:
        """Canonical, de-duplicated schema in first-seen order, uninformative types removed."""
        out: list[str] = []
        for lab in labels:
            if self.is_uninformative(lab):
                continue
            c = self.canonical(lab)
            if c and c not in out:
                out.append(c)
        return out

    def gold(
        self, example: Example, allowed: Container[str], dropped: Counter | None = None
    ) -> list[tuple[Entity, str]]:
        """The gold entities of `example` kept under the policy, each with its canonical type: uninformative types are
        dropped, and types not in `allowed` (a schema already under the policy) left out and counted in `dropped` by
        `(example.dataset, type)`."""
        kept = []
        for e in example.entities:
            if self.is_uninformative(e.label):
                continue
            typ = self.canonical(e.label)
            if typ not in allowed:
                if dropped is not None:
                    dropped[(example.dataset, typ)] += 1
                continue
            kept.append((e, typ))
        return kept
