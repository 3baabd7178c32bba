"""Uncertainty of entity-level micro P/R/F1 over sentences: bootstrap confidence intervals and paired significance
tests, computed from per-sentence counts.

Input everywhere: for each dataset, an integer array of shape `(n_sentences, 3)` holding each sentence's
`(n_gold, n_pred, n_match)` (the sizes of its gold set, prediction set and their intersection, as scored by
`reasoning_ner.scoring`). Micro scores of any multiset of sentences come from the column sums: P = match / pred,
R = match / gold, F1 = 2·match / (gold + pred) (0 when a denominator is 0; equal to 2PR / (P + R)).

**Bootstrap confidence intervals** (`bootstrap_ci`). A replicate draws, for every dataset independently, as many
sentences as it has, uniformly with replacement, and computes the dataset's P, R and F1 and the plain mean of the
datasets' F1 (the "Average" row). Over `samples` replicates, the interval is the percentile interval at `confidence`
(default 95 %: the 2.5th and 97.5th percentiles, numpy's linear interpolation). Each dataset's resampling stream is
seeded by (seed, CRC-32 of the dataset name), so a dataset's interval does not change when other datasets are added.

**Paired comparison of two runs on the same sentences** (`paired_test`), per dataset and for the average of F1:

* the difference `ΔF1 = F1(B) − F1(A)`;
* its confidence interval by the **paired bootstrap**: each replicate resamples sentence indices once and applies them
  to both runs (percentile interval, as above);
* a two-sided p-value by **approximate randomization** (Noreen 1989; Yeh 2000): each of `samples` permutations swaps,
  independently for every sentence with probability 1/2, the two runs' counts of that sentence, and recomputes ΔF1
  (for the average: every dataset permuted, then the mean of the datasets' ΔF1); p = (1 + #{|ΔF1_perm| ≥ |ΔF1|}) /
  (1 + samples). Sentences where both runs have the same counts cannot change anything and are skipped. Identical
  runs get p = 1; a run better on every one of n sentences gets p near max(2^(1-n), 1 / (1 + samples)).

Everything is vectorised with numpy, in chunks of at most `CHUNK` replicates, so memory stays bounded. A replicate is
drawn as the number of times each *distinct* row of counts is drawn (multinomial, `_resampled_sums`), which is the
same resampling as drawing sentence indices one by one (the 1,000 replicates of the seven test sets: 0.05–0.1 s).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

CHUNK = 1000
EPS = 1e-12


def as_counts(rows: Sequence[Sequence[int]] | np.ndarray) -> np.ndarray:
    """Per-sentence `(n_gold, n_pred, n_match)` as an int64 array of shape (n, 3)."""
    arr = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    return arr


def prf(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P, R, F1 (fractions) of column sums `(..., 3)` = (gold, pred, match)."""
    sums = np.asarray(sums, dtype=np.float64)
    g, p, m = sums[..., 0], sums[..., 1], sums[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(p > 0, m / np.where(p > 0, p, 1), 0.0)
        rec = np.where(g > 0, m / np.where(g > 0, g, 1), 0.0)
        f1 = np.where(g + p > 0, 2 * m / np.where(g + p > 0, g + p, 1), 0.0)
    return prec, rec, f1


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode("utf-8"))])


def _resampled_sums(rng: np.random.Generator, counts: Sequence[np.ndarray], k: int) -> list[np.ndarray]:
    """k bootstrap replicates of the column sums of each array in `counts` (all of the same length n), the same
    resampled sentences applied to every array (paired).

    A replicate's sums depend only on how many of its n draws fall on sentences with each distinct row of counts
    (across the arrays, for the pairing): those numbers are multinomial, n trials with each distinct row's share of
    the sentences as its probability — the same distribution as drawing n sentence indices uniformly with replacement,
    at the cost of one draw per distinct row (tens to hundreds) instead of one per sentence (thousands)."""
    n = len(counts[0])
    rows, freq = np.unique(np.concatenate(counts, axis=1), axis=0, return_counts=True)
    draws = rng.multinomial(n, freq / n, size=k).astype(np.float64)  # (k, distinct rows): draws of each
    out, col = [], 0
    for c in counts:
        out.append(draws @ rows[:, col : col + c.shape[1]].astype(np.float64))
        col += c.shape[1]
    return out


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    a = (1.0 - confidence) / 2.0
    lo, hi = np.percentile(values, [100 * a, 100 * (1 - a)])
    return float(lo), float(hi)


@dataclass
class Interval:
    low: float
    high: float

    def pct(self) -> list[float]:
        return [round(100 * self.low, 2), round(100 * self.high, 2)]


def bootstrap_ci(
    counts: Mapping[str, np.ndarray], samples: int = 1000, seed: int = 0, confidence: float = 0.95
) -> tuple[dict[str, dict[str, Interval]], Interval | None]:
    """Percentile bootstrap intervals: `({dataset: {"precision", "recall", "f1"}: Interval}, average F1 interval)`.
    Datasets without sentences get no interval (and are left out of the average's replicates)."""
    per: dict[str, dict[str, Interval]] = {}
    f1_reps: list[np.ndarray] = []
    for name, c in counts.items():
        c = as_counts(c)
        if not len(c) or samples <= 0:
            continue
        rng = _rng(seed, name)
        ps, rs, fs = [], [], []
        for start in range(0, samples, CHUNK):
            (sums,) = _resampled_sums(rng, [c], min(CHUNK, samples - start))
            p, r, f = prf(sums)
            ps.append(p)
            rs.append(r)
            fs.append(f)
        p, r, f = np.concatenate(ps), np.concatenate(rs), np.concatenate(fs)
        per[name] = {
            "precision": Interval(*_interval(p, confidence)),
            "recall": Interval(*_interval(r, confidence)),
            "f1": Interval(*_interval(f, confidence)),
        }
        f1_reps.append(f)
    avg = Interval(*_interval(np.mean(f1_reps, axis=0), confidence)) if f1_reps else None
    return per, avg


@dataclass
class PairedResult:
    """B − A on one dataset (or the average): the observed ΔF1, its paired-bootstrap interval, the
    approximate-randomization p-value, and both runs' F1 (fractions)."""

    f1_a: float
    f1_b: float
    delta: float
    ci: Interval
    p_value: float
    n_sentences: int
    n_differing: int  # sentences where the two runs' counts differ


def _permuted_deltas(rng: np.random.Generator, a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """ΔF1 = F1(B') − F1(A') for k random per-sentence swaps of the two runs' counts."""
    diff = (b - a).astype(np.float64)
    rows = np.flatnonzero(np.any(diff != 0, axis=1))
    sa, sb = a.sum(axis=0).astype(np.float64), b.sum(axis=0).astype(np.float64)
    if not len(rows):
        f = prf(sb)[2] - prf(sa)[2]
        return np.full(k, float(f))
    swap = (rng.random((k, len(rows))) < 0.5).astype(np.float64)
    moved = swap @ diff[rows]  # (k, 3): what the swapped sentences move from B to A
    return prf(sb - moved)[2] - prf(sa + moved)[2]


def paired_test(
    a: Mapping[str, np.ndarray],
    b: Mapping[str, np.ndarray],
    samples: int = 10000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, PairedResult]:
    """B − A per dataset and `"Average"` (mean over datasets of F1). `a` and `b` must hold the same datasets with the
    same number of sentences, sentence i of a dataset being the same sentence in both (ValueError otherwise)."""
    if list(a) != list(b):
        raise ValueError(f"different datasets: {list(a)} vs {list(b)}")
    out: dict[str, PairedResult] = {}
    boot_deltas, perm_deltas, obs = [], [], []
    fa_all, fb_all, n_all, d_all = [], [], 0, 0
    for name in a:
        ca, cb = as_counts(a[name]), as_counts(b[name])
        if ca.shape != cb.shape:
            raise ValueError(f"{name}: {len(ca)} vs {len(cb)} sentences")
        if not len(ca):
            continue
        fa, fb = float(prf(ca.sum(0))[2]), float(prf(cb.sum(0))[2])
        rng = _rng(seed, name)
        boot, perm = [], []
        for start in range(0, samples, CHUNK):
            k = min(CHUNK, samples - start)
            sa, sb = _resampled_sums(rng, [ca, cb], k)
            boot.append(prf(sb)[2] - prf(sa)[2])
            perm.append(_permuted_deltas(rng, ca, cb, k))
        boot_d, perm_d = np.concatenate(boot), np.concatenate(perm)
        delta = fb - fa
        differing = int(np.any(ca != cb, axis=1).sum())
        p = (1 + int(np.sum(np.abs(perm_d) >= abs(delta) - EPS))) / (1 + samples)
        out[name] = PairedResult(fa, fb, delta, Interval(*_interval(boot_d, confidence)), p, len(ca), differing)
        boot_deltas.append(boot_d)
        perm_deltas.append(perm_d)
        obs.append(delta)
        fa_all.append(fa)
        fb_all.append(fb)
        n_all += len(ca)
        d_all += differing
    if obs:
        delta = float(np.mean(obs))
        perm_avg = np.mean(perm_deltas, axis=0)
        p = (1 + int(np.sum(np.abs(perm_avg) >= abs(delta) - EPS))) / (1 + samples)
        ci = Interval(*_interval(np.mean(boot_deltas, axis=0), confidence))
        out["Average"] = PairedResult(float(np.mean(fa_all)), float(np.mean(fb_all)), delta, ci, p, n_all, d_all)
    return out


__all__ = ["Interval", "PairedResult", "as_counts", "bootstrap_ci", "paired_test", "prf"]
