#!/usr/bin/env python3
"""Generate the small synthetic sample data of this project (stdlib only, deterministic).

Run from any directory:

    python data/sample/build.py                           # rewrites the committed files next to this script
    python data/sample/build.py --out /tmp/x              # writes the same files under /tmp/x
    python data/sample/build.py --learning 400 learn.jsonl  # a larger NER-CoT draw for training experiments

Outputs (relative to the output folder):

* `ner_cot.jsonl` — 240 NER-CoT records over 8 invented domain datasets, each with a rule-written reasoning chain.
* `instructuie/<name>/{train,dev,test}.json` + `labels.json` for `sample-news`, `sample-tech` and `sample-food`.
* `corpus.txt` — about 200 KB of plain text for training a tiny byte-level BPE tokenizer.

The word lists, templates, label maps and phrasing tables, all written for this project, are data: they live in
`vocab.json` next to this script. This file holds the code: the slot generators (`SLOTS`), template filling, the
rule-written reasoning chains, the split sizes and the writers. Each InstructUIE dataset's label map is derived from
its domain's map plus the differences declared in `vocab.json` (`dataset_labels`).

`--learning N OUT_FILE` writes only OUT_FILE: N records per NER-CoT domain in the format of `ner_cot.jsonl`, drawn
from their own random streams, with every sentence of `ner_cot.jsonl` and of the InstructUIE dev and test splits
held out. It does not touch the committed files.

All randomness comes from `random.Random` streams derived from `--seed`; nothing iterates over a set or depends on
hash order, and `vocab.json` is read with its order kept, so the same seed gives byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

DEFAULT_SEED = 20250611
HERE = Path(__file__).resolve().parent
VOCAB_FILE = HERE / "vocab.json"

# ======================================================================================================================
# Data: vocab.json (word lists, fillers, domains with templates and label maps, InstructUIE label differences,
# reasoning-chain phrasings, corpus prose). JSON objects load as dicts in file order, which the draws rely on.

with VOCAB_FILE.open(encoding="utf-8") as _f:
    VOCAB: dict = json.load(_f)

WORDS: dict[str, list[str]] = VOCAB["words"]
FILLERS: dict[str, list[str]] = VOCAB["fillers"]  # `_` slots: written, never annotated
FILLER_DESC: dict[str, str] = VOCAB["filler_desc"]
DOMAINS: dict[str, dict] = VOCAB["domains"]  # NER-CoT datasets: labels, templates, empty, learning_empty
INSTRUCTUIE: dict[str, dict] = VOCAB["instructuie"]  # domain, labels_file, rename, unannotated
COT: dict = VOCAB["cot"]  # phrasing tables of the reasoning chains
CORPUS: dict[str, list[str]] = VOCAB["corpus"]  # prose, prompt_heads, prompt_tails

# ======================================================================================================================
# Slots: template slot name -> value generator


def _person(rng: random.Random, dr: float = 0.1, prof: float = 0.0, mid: float = 0.1) -> str:
    f, last = rng.choice(WORDS["first"]), rng.choice(WORDS["last"])
    r = rng.random()
    if r < dr:
        return f"Dr. {f[0]}. {last}"
    if r < dr + prof:
        return f"Prof. {f} {last}"
    if r < dr + prof + mid:
        return f"{f} {rng.choice(WORDS['initials'])}. {last}"
    return f"{f} {last}"


def _date(rng: random.Random) -> str:
    d, m, y = rng.randint(1, 28), rng.choice(WORDS["months"]), rng.randint(1995, 2024)
    return f"{d} {m} {y}" if rng.random() < 0.5 else f"{m} {d}, {y}"


def _month(rng: random.Random) -> str:
    return f"{rng.choice(WORDS['months'])} {rng.randint(1995, 2024)}"


def _pick(values: list[str]):
    return lambda rng: rng.choice(values)


# slot name -> value generator
SLOTS = {
    "person": lambda rng: _person(rng),
    "scientist": lambda rng: _person(rng, dr=0.35, prof=0.15),
    "artist": lambda rng: rng.choice(WORDS["stage_names"]) if rng.random() < 0.5 else _person(rng, dr=0.0, mid=0.05),
    "actor": lambda rng: _person(rng, dr=0.0, mid=0.0),
    "director": lambda rng: _person(rng, dr=0.0, mid=0.05),
    "athlete": lambda rng: _person(rng, dr=0.0, mid=0.05),
    "org": _pick(WORDS["orgs"]),
    "techorg": _pick(WORDS["tech_orgs"]),
    "city": _pick(WORDS["cities"]),
    "country": _pick(WORDS["countries"]),
    "nationality": _pick(WORDS["nationalities"]),
    "event": _pick(WORDS["events"]),
    "date": _date,
    "month": _month,
    "university": _pick(WORDS["universities"]),
    "element": _pick(WORDS["elements"]),
    "compound": _pick(WORDS["compounds"]),
    "discipline": _pick(WORDS["disciplines"]),
    "award": _pick(WORDS["awards"]),
    "band": _pick(WORDS["bands"]),
    "song": _pick(WORDS["songs"]),
    "album": _pick(WORDS["albums"]),
    "genre": _pick(WORDS["music_genres"]),
    "instrument": _pick(WORDS["instruments"]),
    "lang": _pick(WORDS["langs"]),
    "algo": _pick(WORDS["algorithms"]),
    "product": _pick(WORDS["products"]),
    "conf": _pick(WORDS["conferences"]),
    "disease": _pick(WORDS["diseases"]),
    "drug": _pick(WORDS["drugs"]),
    "gene": _pick(WORDS["genes"]),
    "anatomy": _pick(WORDS["anatomy"]),
    "organism": _pick(WORDS["organisms"]),
    "title": _pick(WORDS["film_titles"]),
    "mgenre": _pick(WORDS["film_genres"]),
    "year": _pick(WORDS["years"]),
    "decade": _pick(WORDS["decades"]),
    "character": _pick(WORDS["characters"]),
    "mrating": _pick(WORDS["film_ratings"]),
    "dish": _pick(WORDS["dishes"]),
    "cuisine": _pick(WORDS["cuisines"]),
    "restaurant": _pick(WORDS["restaurants"]),
    "place": _pick(WORDS["food_places"]),
    "nearme": _pick(WORDS["near_me"]),
    "price": _pick(WORDS["prices"]),
    "priceq": _pick(WORDS["price_phrases"]),
    "frating": _pick(WORDS["food_ratings"]),
    "hours": _pick(WORDS["hours"]),
    "amenity": _pick(WORDS["amenities"]),
    "team": _pick(WORDS["teams"]),
    "sport": _pick(WORDS["sports"]),
    "tournament": _pick(WORDS["tournaments"]),
}
for _k, _v in FILLERS.items():
    SLOTS[_k] = _pick(_v)

# Slots that hold proper names. In the learning draw, `--novel P` replaces such a value, with probability P, by an
# invented one, so that a model cannot score by recalling the vocabulary lists and has to copy from the sentence.
PERSON_SLOTS = {"person", "scientist", "artist", "actor", "director", "athlete"}
NAME_SLOTS = PERSON_SLOTS | {"org", "techorg", "city", "country", "event", "university", "award", "band", "song"}
NAME_SLOTS |= {"album", "product", "title", "character", "restaurant", "team", "tournament", "conf"}
_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "dr", "kl", "tr", "sh", "th"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ei", "ou"]
_CODAS = ["", "", "", "n", "r", "l", "s", "th", "m", "k"]


def pseudo_word(rng: random.Random) -> str:
    """A pronounceable invented word of 2-3 syllables, capitalised (e.g. `Velmor`)."""
    w = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(rng.randint(2, 3))) + rng.choice(_CODAS)
    return w.capitalize()


def novel_value(rng: random.Random, slot: str, value: str) -> str:
    """`value` with its name words invented: every capitalised word of a person's name (titles and initials kept),
    the first capitalised word of any other name (so `Atlas Freight` keeps its cue word: `Velmor Freight`)."""
    words = value.split(" ")
    for i, w in enumerate(words):
        if len(w) > 2 and w[0].isupper() and w.rstrip(".") not in ("Dr", "Prof") and w.isalpha():
            words[i] = pseudo_word(rng)
            if slot not in PERSON_SLOTS:
                break
    return " ".join(words)


def novel_slots(p: float) -> dict:
    """SLOTS with each name slot's value replaced by an invented one with probability `p`."""
    if p <= 0:
        return SLOTS

    def wrap(slot: str, gen):
        return lambda rng: novel_value(rng, slot, gen(rng)) if rng.random() < p else gen(rng)

    return {k: wrap(k, g) if k in NAME_SLOTS else g for k, g in SLOTS.items()}


# ======================================================================================================================
# Label maps, declared once in vocab.json: each domain maps its slots to NER-CoT types; an InstructUIE dataset reuses a
# domain's templates and map, and declares only how it differs (`rename`: domain type -> dataset type; `unannotated`:
# domain types that are written but not annotated).


def dataset_labels(spec: dict) -> dict[str, str | None]:
    """Slot -> type of an InstructUIE dataset (None: written, not annotated), derived from its domain's map.

    Annotated slots come first, then the unannotated ones, each in the domain's order (the map is only looked up, so
    its order does not change the draws)."""
    domain = DOMAINS[spec["domain"]]["labels"]
    rename, unannotated = spec.get("rename", {}), spec.get("unannotated", [])
    labels: dict[str, str | None] = {s: rename.get(t, t) for s, t in domain.items() if t not in unannotated}
    labels.update((s, None) for s, t in domain.items() if t in unannotated)
    return labels


# Types of each NER-CoT dataset (schema candidates): its label map's types in first-seen order. Label map of each
# InstructUIE dataset: derived as above.
for _d in DOMAINS.values():
    _d["types"] = list(dict.fromkeys(_d["labels"].values()))
for _spec in INSTRUCTUIE.values():
    _spec["labels"] = dataset_labels(_spec)

# Sizes of the committed files (the learning draw takes its size from --learning).
SPLIT_SIZES = {"train": 60, "dev": 20, "test": 30}
SPLIT_EMPTY = {"train": 6, "dev": 2, "test": 3}
NER_COT_PER_DOMAIN = 30
NER_COT_EMPTY = {  # entity-free records per domain: 29 of 240 (12%)
    "sample-news": 4,
    "sample-science": 4,
    "sample-music": 3,
    "sample-tech": 4,
    "sample-biomed": 3,
    "sample-movies": 4,
    "sample-food": 4,
    "sample-sports": 3,
}
LEARNING_EMPTY_SHARE = sum(NER_COT_EMPTY.values()) / (NER_COT_PER_DOMAIN * len(NER_COT_EMPTY))


# ======================================================================================================================
# Template filling

_SLOT_RE = re.compile(r"\{(_?[a-z]+)(?::(\d))?\}")
_WORD_RE = re.compile(r"[\w'’*+#.-]+")
_WEAK_CUES = {"and", "or", "a", "an", "the"}


def parse_template(tpl: str) -> tuple[bool, list]:
    """A template as (lower, parts): parts alternate literal strings and (slot, bind) tuples."""
    lower = tpl.startswith("~")
    if lower:
        tpl = tpl[1:]
    parts: list = []
    pos = 0
    for m in _SLOT_RE.finditer(tpl):
        parts.append(tpl[pos : m.start()])
        if m.group(1) not in SLOTS:
            raise KeyError(f"unknown slot {m.group(1)!r} in template {tpl!r}")
        parts.append((m.group(1), m.group(2)))
        pos = m.end()
    parts.append(tpl[pos:])
    return lower, parts


def _cue_words(literal: str, side: str) -> str:
    """Up to three words of template text next to a slot, within the same clause."""
    if side == "before":
        literal = re.split(r"[,;:\"]", literal)[-1]
    else:
        literal = re.split(r"[,;:\"]", literal)[0]
    words = [w.strip(".?!") for w in _WORD_RE.findall(literal)]
    words = [w for w in words if w]
    words = words[-3:] if side == "before" else words[:3]
    if not words or all(w.lower() in _WEAK_CUES for w in words):
        return ""
    return " ".join(words)


def word_occurrences(sentence: str, text: str) -> list[int]:
    """Start offsets where `text` occurs in `sentence` not glued to letters or digits on either side."""
    out, i = [], sentence.find(text)
    while i != -1:
        j = i + len(text)
        if (i == 0 or not sentence[i - 1].isalnum()) and (j == len(sentence) or not sentence[j].isalnum()):
            out.append(i)
        i = sentence.find(text, i + 1)
    return out


def fill(
    rng: random.Random, tpl: str, labels: dict[str, str | None], tries: int = 50, slots: dict | None = None
) -> dict | None:
    """Fill a template. Returns {sentence, spans, fillers} or None if no clean filling was found in `tries`."""
    lower, parts = parse_template(tpl)
    for _ in range(tries):
        bound: dict[str, str] = {}
        used: list[str] = []
        pieces: list[str] = []
        spans: list[dict] = []
        fillers: list[tuple[str, str]] = []
        pos = 0
        ok = True
        for k, part in enumerate(parts):
            if isinstance(part, str):
                pieces.append(part)
                pos += len(part)
                continue
            slot, bind = part
            if bind is not None and bind in bound:
                value = bound[bind]
            else:
                for _attempt in range(20):
                    value = (slots or SLOTS)[slot](rng)
                    if lower:
                        value = value.lower()
                    if value not in used:
                        break
                else:
                    ok = False
                    break
                if pos == 0 and not lower and "a" <= value[0] <= "z":
                    value = value[0].upper() + value[1:]
                used.append(value)
                if bind is not None:
                    bound[bind] = value
            prev = pieces[-1] if pieces else ""
            if (prev.endswith(" a ") or prev in ("a ", "A ")) and value[0].lower() in "aeiou":
                pieces[-1] = prev = prev[:-1] + "n "  # "a unrated film" -> "an unrated film"
                pos += 1
            label = None if slot.startswith("_") else labels.get(slot)
            if slot.startswith("_"):
                fillers.append((slot, value))
            elif label is not None:
                spans.append(
                    {
                        "text": value,
                        "label": label,
                        "start": pos,
                        "end": pos + len(value),
                        "before": "" if k == 1 and len(parts[0].split()) < 2 else _cue_words(parts[k - 1], "before"),
                        "after": _cue_words(parts[k + 1], "after"),
                        "between_prev": prev,
                    }
                )
            pieces.append(value)
            pos += len(value)
        if not ok:
            continue
        sentence = "".join(pieces)
        if _clean(sentence, spans, used):
            return {"sentence": sentence, "spans": spans, "fillers": fillers}
    return None


def _clean(sentence: str, spans: list[dict], used: list[str]) -> bool:
    """No entity text occurs outside its annotated spans and no text carries two labels."""
    label_of: dict[str, str] = {}
    for s in spans:
        if label_of.setdefault(s["text"], s["label"]) != s["label"]:
            return False
    for text in label_of:
        starts = [s["start"] for s in spans if s["text"] == text]
        if word_occurrences(sentence, text) != starts:
            return False
    # an unannotated value must not contain, or sit inside, an annotated one
    for v in used:
        if v not in label_of and any(v in t or t in v for t in label_of):
            return False
    return True


def check_vocab() -> None:
    """Fail early, with a readable message, on vocab.json mistakes that would otherwise surface mid-draw or not at all."""
    errors: list[str] = []
    for slot in FILLERS:
        if not slot.startswith("_") or slot not in FILLER_DESC:
            errors.append(f"filler {slot!r}: must start with _ and have a filler_desc")
    if list(NER_COT_EMPTY) != list(DOMAINS):
        errors.append(f"NER_COT_EMPTY in build.py lists {list(NER_COT_EMPTY)}, vocab.json domains {list(DOMAINS)}")
    for name, dom in DOMAINS.items():
        for slot in dom["labels"]:
            if slot not in SLOTS or slot.startswith("_"):
                errors.append(f"{name}: label of unknown or filler slot {slot!r}")
        for kind in ("templates", "empty", "learning_empty"):
            for tpl in dom[kind]:
                try:
                    _lower, parts = parse_template(tpl)
                except KeyError as e:
                    errors.append(f"{name} {kind}: {e.args[0]}")
                    continue
                for part in parts:
                    if isinstance(part, str) or part[0].startswith("_"):
                        continue
                    if kind != "templates":
                        errors.append(f"{name} {kind}: entity slot {{{part[0]}}} in {tpl!r}")
                    elif part[0] not in dom["labels"]:
                        errors.append(f"{name}: slot {{{part[0]}}} has no label, in {tpl!r}")
    for name, spec in INSTRUCTUIE.items():
        types = DOMAINS[spec["domain"]]["types"] if spec["domain"] in DOMAINS else []
        for t in [*spec.get("rename", {}), *spec.get("unannotated", [])]:
            if t not in types:
                errors.append(f"instructuie {name}: {t!r} is not a type of domain {spec['domain']!r}")
        annotated = {t for t in spec["labels"].values() if t is not None}
        if annotated != set(spec["labels_file"]):
            errors.append(
                f"instructuie {name}: labels_file {spec['labels_file']} but the map gives {sorted(annotated)}"
            )
    if errors:
        raise SystemExit(f"{VOCAB_FILE}:\n  " + "\n  ".join(errors))


# ======================================================================================================================
# Reasoning chains (cot), written by rules from the phrasing tables in COT


def join_and(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def join_or(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _cap(s: str) -> str:
    return s[0].upper() + s[1:] if s and "a" <= s[0] <= "z" else s


def _desc(rng: random.Random, dataset: str, label: str) -> str:
    override = COT["desc_override"].get(dataset, {})
    return rng.choice(override[label] if label in override else COT["desc"].get(label, [f"a {label}"]))


def _groups(spans: list[dict]) -> list[dict]:
    """Merge repeated mentions (first occurrence wins) and `A, B and C` lists of same-typed adjacent mentions."""
    groups: list[dict] = []
    seen: list[str] = []
    for s in spans:
        if s["text"] in seen:
            for g in groups:
                if s["text"] in g["texts"]:
                    g["repeat"] = True
            continue
        seen.append(s["text"])
        prev = groups[-1] if groups else None
        joint = s["between_prev"].strip(" ,")
        if (
            prev is not None
            and prev["label"] == s["label"]
            and joint in ("", "and", "or")
            and prev["end"] + len(s["between_prev"]) == s["start"]
        ):
            prev["texts"].append(s["text"])
            prev["members"].append(s)
            prev["end"] = s["end"]
            prev["joined"] = prev["joined"] or joint in ("and", "or")
            continue
        groups.append(
            {
                "texts": [s["text"]],
                "members": [s],
                "label": s["label"],
                "before": s["before"],
                "after": s["after"],
                "end": s["end"],
                "repeat": False,
                "joined": False,
            }
        )
    out: list[dict] = []
    for g in groups:  # "in Toronto, Kenya" is not a list: split it back into single mentions
        if len(g["texts"]) > 1 and not g["joined"]:
            for m in g["members"]:
                out.append(
                    {
                        "texts": [m["text"]],
                        "label": m["label"],
                        "before": m["before"],
                        "after": m["after"],
                        "repeat": False,
                    }
                )
        else:
            out.append(g)
    return out


def _clause(rng: random.Random, dataset: str, g: dict, level: int) -> str:
    """One walk-through clause; level 0 is the full form, 1 keeps the cue, 2 is the bare type decision."""
    L = g["label"]
    if level == 1 and g["before"] and len(g["texts"]) == 1:
        out = rng.choice(COT["clause_medium"]).format(x=g["texts"][0], c=g["before"], L=L)
        return out + (rng.choice(COT["repeat_note"]) if g["repeat"] else "")
    if level >= 1:
        return "; ".join(rng.choice(COT["clause_compact"]).format(x=x, L=L) for x in g["texts"])
    d = _desc(rng, dataset, L)
    if len(g["texts"]) > 1:
        xs = join_and([f'"{x}"' for x in g["texts"]])
        if g["before"]:
            out = rng.choice(COT["clause_list"]).format(xs=xs, c=g["before"], d=d, L=L)
        else:
            out = rng.choice(COT["clause_list_bare"]).format(xs=xs, d=d, L=L)
    elif g["before"] and (not g["after"] or rng.random() < 0.7):
        out = rng.choice(COT["clause_before"]).format(x=g["texts"][0], c=g["before"], d=d, L=L)
    elif g["after"]:
        out = rng.choice(COT["clause_after"]).format(x=g["texts"][0], c=g["after"], d=d, L=L)
    else:
        out = rng.choice(COT["clause_bare"]).format(x=g["texts"][0], d=d, L=L)
    if g["repeat"]:
        out += rng.choice(COT["repeat_note"])
    return out


def make_cot(rng: random.Random, dataset: str, schema: list[str], filled: dict, query: bool) -> str:
    spans, fillers = filled["spans"], filled["fillers"]
    restate = rng.choice(COT["restate"]).format(T=join_and(schema))
    present = list(dict.fromkeys(s["label"] for s in spans))
    absent = [t for t in schema if t not in present]
    if not spans:
        t0 = rng.choice(schema)
        parts = [restate]
        parts.append(rng.choice(COT["empty_query_read"] if query else COT["empty_read"]).format(t0=t0))
        if fillers and rng.random() < 0.7:
            slot, f = fillers[0]
            parts.append(_cap(rng.choice(COT["filler_clause"]).format(f=f, fd=FILLER_DESC[slot])) + ".")
        parts.append(rng.choice(COT["empty_absent"]).format(ts_or=join_or(schema), ts_and=_cap(join_and(schema))))
        parts.append(rng.choice(COT["empty_conclude"]))
        return " ".join(parts)
    groups = _groups(spans)
    n_unique = len(dict.fromkeys((s["text"], s["label"]) for s in spans))
    for level in (0, 1, 2):
        clauses = [_clause(rng, dataset, g, level) for g in groups]
        if fillers and rng.random() < 0.4:
            slot, f = rng.choice(fillers)
            clauses.append(rng.choice(COT["filler_clause"]).format(f=f, fd=FILLER_DESC[slot]))
        tail: list[str] = []
        if absent:
            if len(absent) == 1:
                tail.append(rng.choice(COT["absent_one"]).format(t=absent[0]))
            else:
                tail.append(rng.choice(COT["absent_many"]).format(ts_or=join_or(absent), ts_and=_cap(join_and(absent))))
        elif rng.random() < 0.5:
            tail.append(rng.choice(COT["all_covered"]))
        tail.append(rng.choice(COT["conclude"]).format(n=n_unique, ent="entity" if n_unique == 1 else "entities"))
        room = 6 - 1 - len(tail)  # sentences left for the walk-through
        n_sent = min(room, len(clauses))
        walk: list[str] = []
        per = -(-len(clauses) // n_sent)
        for i in range(0, len(clauses), per):
            chunk = clauses[i : i + per]
            walk.append(
                _cap("; then ".join(chunk) if len(chunk) == 2 and rng.random() < 0.5 else "; ".join(chunk)) + "."
            )
        cot = " ".join([restate, *walk, *tail])
        if len(cot) <= 600:
            return cot
    raise ValueError(f"cot too long ({len(cot)} chars) for {filled['sentence']!r}")


# ======================================================================================================================
# Builders


class SentencePool:
    """Draws unique sentences from a domain's templates, cycling through templates in shuffled order."""

    def __init__(self, rng: random.Random, domain: dict, labels: dict, seen: set[str], slots: dict | None = None):
        self.rng, self.domain, self.labels, self.seen, self.slots = rng, domain, labels, seen, slots
        self.queues: dict[str, list[str]] = {"templates": [], "empty": []}

    def draw(self, kind: str) -> tuple[str, dict]:
        for _ in range(200):
            q = self.queues[kind]
            if not q:
                q.extend(self.domain[kind])
                self.rng.shuffle(q)
            tpl = q.pop()
            filled = fill(self.rng, tpl, self.labels, slots=self.slots)
            if filled is None or filled["sentence"] in self.seen:
                continue
            if kind == "templates" and not filled["spans"]:
                continue
            self.seen.add(filled["sentence"])
            return tpl, filled
        raise RuntimeError(f"could not draw a new {kind} sentence")


def _ner_cot_records(rng: random.Random, pool: SentencePool, name: str, n: int, n_empty: int, guid: str) -> list[dict]:
    """`n` NER-CoT records of domain `name`, `n_empty` of them (at random positions) without entities."""
    types = DOMAINS[name]["types"]
    empty_at = set(rng.sample(range(n), n_empty))
    records = []
    for i in range(n):
        tpl, filled = pool.draw("empty" if i in empty_at else "templates")
        present = list(dict.fromkeys(s["label"] for s in filled["spans"]))
        lo = max(3, len(present))
        hi = min(7, len(types))
        size = rng.randint(lo, hi) if rng.random() < 0.7 else lo
        others = [t for t in types if t not in present]
        schema = present + rng.sample(others, size - len(present))
        rng.shuffle(schema)
        cot = make_cot(rng, name, schema, filled, query=tpl.startswith("~"))
        entities = []
        for s in filled["spans"]:
            e = {"text": s["text"], "label": s["label"]}
            if e not in entities:
                entities.append(e)
        records.append(
            {
                "guid": guid.format(name=name, i=i),
                "dataset": name,
                "sentence": filled["sentence"],
                "schema": schema,
                "cot": cot,
                "entities": entities,
            }
        )
    return records


def build_ner_cot(seed: int, seen: set[str]) -> list[dict]:
    records = []
    for name, dom in DOMAINS.items():
        rng = random.Random(f"{seed}/ner_cot/{name}")
        pool = SentencePool(rng, dom, dom["labels"], seen)
        records += _ner_cot_records(rng, pool, name, NER_COT_PER_DOMAIN, NER_COT_EMPTY[name], "{name}-{i:03d}")
    return records


def build_instructuie(seed: int, seen: set[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for name, spec in INSTRUCTUIE.items():
        rng = random.Random(f"{seed}/instructuie/{name}")
        pool = SentencePool(rng, DOMAINS[spec["domain"]], spec["labels"], seen)
        splits: dict[str, list] = {}
        for split, n in SPLIT_SIZES.items():
            empty_at = sorted(rng.sample(range(n), SPLIT_EMPTY[split]))
            recs = []
            for i in range(n):
                _tpl, filled = pool.draw("empty" if i in empty_at else "templates")
                recs.append(
                    {
                        "sentence": filled["sentence"],
                        "entities": [
                            {"name": s["text"], "type": s["label"], "pos": [s["start"], s["end"]]}
                            for s in filled["spans"]
                        ],
                    }
                )
            splits[split] = recs
        out[name] = {"labels": spec["labels_file"], "splits": splits}
    return out


def held_out_sentences(seed: int) -> set[str]:
    """Sentences a learning draw must not contain: those of `ner_cot.jsonl` and of the InstructUIE dev and test
    splits, both as committed next to this script and as drawn for `seed` (the same set for the default seed)."""
    seen: set[str] = set()
    ner_cot = build_ner_cot(seed, seen)
    iuie = build_instructuie(seed, seen)
    out = {r["sentence"] for r in ner_cot}
    out |= {r["sentence"] for d in iuie.values() for split in ("dev", "test") for r in d["splits"][split]}
    committed = HERE / "ner_cot.jsonl"
    if committed.is_file():
        with committed.open(encoding="utf-8") as f:
            out |= {json.loads(line)["sentence"] for line in f if line.strip()}
    for name in INSTRUCTUIE:
        for split in ("dev", "test"):
            path = HERE / "instructuie" / name / f"{split}.json"
            if path.is_file():
                out |= {r["sentence"] for r in json.loads(path.read_text(encoding="utf-8"))}
    return out


def build_learning(seed: int, n: int, novel: float = 0.0) -> list[dict]:
    """A larger NER-CoT draw for training experiments: `n` records per domain, about the same share without entities
    as `ner_cot.jsonl`, from random streams of their own, every held-out sentence (`held_out_sentences`) excluded.
    With `novel` > 0, each proper name is replaced by an invented one with that probability (`novel_slots`).

    Entity-free records also draw from each domain's `learning_empty` templates: the committed `empty` ones alone
    have too few distinct fillings for large `n`."""
    seen = held_out_sentences(seed)
    n_empty = round(n * LEARNING_EMPTY_SHARE)
    records = []
    for name, dom in DOMAINS.items():
        rng = random.Random(f"{seed}/learning/{name}")
        pool = SentencePool(
            rng,
            {"templates": dom["templates"], "empty": dom["empty"] + dom["learning_empty"]},
            dom["labels"],
            seen,
            novel_slots(novel),
        )
        try:
            records += _ner_cot_records(rng, pool, name, n, n_empty, "{name}-learning-{i:05d}")
        except RuntimeError as e:
            raise RuntimeError(f"{name}: {e}; N={n} is too large for the templates and vocabularies") from None
    return records


def build_corpus(seed: int, ner_cot: list[dict], held_out: set[str], target_bytes: int = 200_000) -> str:
    rng = random.Random(f"{seed}/corpus")
    names = list(DOMAINS)
    chunks: list[str] = []
    size = 0
    while size < target_bytes:
        name = rng.choice(names)
        dom = DOMAINS[name]
        kind = rng.random()
        if kind < 0.55:  # a paragraph of generated prose
            sents = []
            for _ in range(rng.randint(3, 7)):
                tpl = rng.choice(dom["empty"] if rng.random() < 0.15 else dom["templates"])
                filled = fill(rng, tpl, dom["labels"])
                if filled and filled["sentence"] not in held_out:
                    sents.append(filled["sentence"])
            chunk = " ".join(sents)
        elif kind < 0.75:  # a prompt with its target: think block and JSON answer
            tpl = rng.choice(dom["templates"])
            filled = fill(rng, tpl, dom["labels"])
            if not filled or filled["sentence"] in held_out:
                continue
            present = list(dict.fromkeys(s["label"] for s in filled["spans"]))
            others = [t for t in dom["types"] if t not in present]
            schema = present + rng.sample(others, max(0, min(len(others), 4 - len(present))))
            rng.shuffle(schema)
            answer: dict[str, list[str]] = {}
            for s in filled["spans"]:
                bucket = answer.setdefault(s["label"], [])
                if s["text"] not in bucket:
                    bucket.append(s["text"])
            cot = make_cot(rng, name, schema, filled, query=tpl.startswith("~"))
            indent = 2 if rng.random() < 0.6 else None
            chunk = "\n".join(
                [
                    rng.choice(CORPUS["prompt_heads"]),
                    json.dumps(schema, ensure_ascii=False),
                    f"Sentence: {filled['sentence']}",
                    rng.choice(CORPUS["prompt_tails"]),
                    "<think>",
                    cot,
                    "</think>",
                    json.dumps({"entities": answer}, ensure_ascii=False, indent=indent),
                ]
            )
        elif kind < 0.9:  # compact JSON answers and NER-CoT lines
            rec = rng.choice(ner_cot)
            answer = {}
            for e in rec["entities"]:
                answer.setdefault(e["label"], []).append(e["text"])
            lines = [
                json.dumps({"entities": answer}, ensure_ascii=False),
                f"types: {json.dumps(rec['schema'], ensure_ascii=False)}",
                f"{len(rec['entities'])} entities in the sentence; reasoning length {len(rec['cot'])} characters.",
            ]
            rng.shuffle(lines)
            chunk = "\n".join(lines)
        else:  # prose about the task
            chunk = " ".join(rng.sample(CORPUS["prose"], rng.randint(2, 4)))
        if not chunk:
            continue
        chunk += "\n\n"
        chunks.append(chunk)
        size += len(chunk.encode("utf-8"))
    return "".join(chunks).rstrip("\n") + "\n"


# ======================================================================================================================
# Writing


def _dump_array(records: list) -> str:
    """A JSON array with one record per line."""
    return "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n]\n"


def write_all(out: Path, seed: int = DEFAULT_SEED) -> list[Path]:
    seen: set[str] = set()
    ner_cot = build_ner_cot(seed, seen)
    iuie = build_instructuie(seed, seen)
    held_out = {r["sentence"] for d in iuie.values() for s in ("dev", "test") for r in d["splits"][s]}
    corpus = build_corpus(seed, ner_cot, held_out)

    written: list[Path] = []

    def put(rel: str, text: str) -> None:
        p = out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        written.append(p)

    put("ner_cot.jsonl", "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ner_cot))
    for name, d in iuie.items():
        put(f"instructuie/{name}/labels.json", json.dumps(d["labels"], ensure_ascii=False) + "\n")
        for split, recs in d["splits"].items():
            put(f"instructuie/{name}/{split}.json", _dump_array(recs))
    put("corpus.txt", corpus)
    return written


GENERATED = ["ner_cot.jsonl", "corpus.txt"] + [
    f"instructuie/{n}/{f}.json" for n in INSTRUCTUIE for f in ("labels", "train", "dev", "test")
]


def write_learning(path: Path, n: int, seed: int = DEFAULT_SEED, novel: float = 0.0) -> int:
    """Write `build_learning(seed, n, novel)` as JSONL to `path`; returns the number of records."""
    records = build_learning(seed, n, novel)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    return len(records)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    what = ap.add_mutually_exclusive_group()
    what.add_argument("--out", type=Path, default=HERE, help="output folder (default: the folder of this script)")
    what.add_argument(
        "--learning",
        nargs=2,
        metavar=("N", "OUT_FILE"),
        help="write only OUT_FILE: N NER-CoT records per domain (JSONL), held out from the sample files",
    )
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    ap.add_argument(
        "--novel", type=float, default=0.0, help="with --learning: share of proper names replaced by invented ones"
    )
    args = ap.parse_args(argv)
    check_vocab()
    if args.learning:
        n_arg, out_file = args.learning
        if not n_arg.isdigit() or int(n_arg) < 1:
            ap.error(f"--learning: N must be a positive integer, got {n_arg!r}")
        try:
            count = write_learning(Path(out_file), int(n_arg), args.seed, args.novel)
        except RuntimeError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(f"{count} records ({int(n_arg)} per domain x {len(DOMAINS)} domains) written to {out_file}")
        return 0
    for p in write_all(args.out, args.seed):
        print(f"{p.stat().st_size:>8}  {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
