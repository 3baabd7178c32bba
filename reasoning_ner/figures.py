"""Figures drawn beside the caller's work: in a child process (`FigureWorker`) or in this one (`InlineFigures`).

Why: re-scoring a predictions file spends about as long importing matplotlib and drawing the report's figures as on
everything else, and the figures depend only on the per-dataset rows, which are known once the completions are scored.
`FigureWorker()` starts a child Python at once; the child imports matplotlib while the caller reads and scores; the
caller submits each figure as soon as its numbers are known and goes on (the error taxonomy, bootstrap intervals, the
HTML browser, the JSON and Markdown) while the child draws. The same functions of `reasoning_ner.plots` draw the same PNGs either way
(tests/test_figures.py compares the bytes). On one core it gains nothing: `start_figures()` then draws in-process.

Both executors take `FigureJob`s — which function of `PLOTTERS`, its arguments (the PNG's path among them, JSON-able:
the rows' plain fields) and the path it writes — through `submit(jobs)`, which skips a job whose key was submitted
before with the same data (so a caller can submit a growing list as the numbers of each figure become known; other
data under the same key is a ValueError), and `wait()` returns `{key: Path}` of the figures drawn. `InlineFigures`
draws them in `wait`, the worker as they come.

The child: `python -c` with the package's root first on `sys.path` (so it imports the same `reasoning_ner` as the
caller, installed or not). A thread reads one JSON job per line from stdin, `{"key", "fn", "args", "kwargs"}`, while
the main thread imports matplotlib (`plots.warm_up`), so that the caller's writes are taken as soon as the child has
started, whatever their size; the main
thread draws the jobs in order and answers one JSON line each on stdout, `{"key", "path"}` or `{"key", "error"}`;
anything else it would print goes to stderr, which is the caller's. At the end of its input it exits without the
interpreter's teardown (nothing is left to flush). It runs the caller's interpreter with the caller's environment and
inherits no file descriptor of the caller's but stderr.

`FigureWorker.wait()` closes the child's input and reads its answers. A figure whose function raised (in the child or
here) raises `FigureError` (its key, the exception's type and message) after every answer is in; figures the child never answered
(it could not start, could not import matplotlib, or died: killed, out of memory) are drawn in this process, with a warning giving why, so that no
figure is lost. Use either executor as a context manager (or call `close()`): leaving early stops the child.

Start the worker before long-lived threads or processes of the caller's (a vLLM engine, a tokenizer pool) would
inherit its pipes — `evaluate.py` starts it after generation, just before reading the predictions.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

# the functions of reasoning_ner.plots a job may name (the child calls nothing else)
PLOTTERS = ("plot_f1_bars", "plot_error_bars", "plot_reasoning_cost", "plot_confusion", "plot_comparison")

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
# `python -c` puts the current folder first on sys.path, where a user's queue.py or numpy/ would shadow the real ones:
# it goes; the package's root goes first only while the package is imported (the same reasoning_ner as the caller's,
# installed or not), then leaves, so that it shadows nothing either (the package's own imports are relative).
_CHILD = (
    "import sys; sys.path[:] = [p for p in sys.path if p]; "
    f"sys.path.insert(0, {_PACKAGE_ROOT!r}); import reasoning_ner.figures as f; sys.path.pop(0); f.serve()"
)


class FigureError(ValueError):
    """A figure's function raised; the message names the figure (its key) and says what the function said."""


@dataclass(frozen=True)
class FigureJob:
    """One figure: `reasoning_ner.plots.<fn>(*args, **kwargs)`, which writes `path` (also among its arguments)."""

    key: str
    fn: str
    args: tuple[Any, ...]
    path: Path
    kwargs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.fn not in PLOTTERS:
            raise ValueError(f"figure {self.key!r}: unknown function {self.fn!r} (one of {', '.join(PLOTTERS)})")

    def draw(self) -> Path:
        """Draw it in this process; whatever the function raises (rows it cannot draw, a folder it cannot write) comes
        back as FigureError, as from the worker (`_failure`)."""
        try:
            return _call(self.fn, self.args, self.kwargs)
        except Exception as e:
            raise FigureError(self._failure(f"{type(e).__name__}: {e}")) from e

    def _failure(self, what: str) -> str:
        return f"figure {self.key!r} ({self.fn}): {what}"

    def to_json(self) -> str:
        return json.dumps({"key": self.key, "fn": self.fn, "args": self.args, "kwargs": self.kwargs}, default=str)


def _call(fn: str, args: Any, kwargs: dict[str, Any]) -> Path:
    from . import plots

    if fn not in PLOTTERS:
        raise ValueError(f"unknown function {fn!r} (one of {', '.join(PLOTTERS)})")
    return Path(getattr(plots, fn)(*args, **kwargs))


class InlineFigures:
    """Draws the submitted figures in this process when `wait` is called (matplotlib imported by the first)."""

    def __init__(self) -> None:
        self.jobs: list[FigureJob] = []
        self._paths: dict[str, Path] = {}
        self._errors: dict[str, str] = {}

    def _new(self, jobs: list[FigureJob]) -> list[FigureJob]:
        """The jobs whose key was not submitted before, now recorded as submitted. A key submitted again is skipped
        (the caller may submit a growing list as the numbers of each figure become known), but only with the same
        function and arguments: else ValueError, since the figure drawn would not be the one asked for."""
        seen = {j.key: j for j in self.jobs}
        new = []
        for job in jobs:
            old = seen.get(job.key)
            if old is None:
                seen[job.key] = job
                new.append(job)
            elif old.to_json() != job.to_json():
                raise ValueError(f"figure {job.key!r} submitted again with other data than the first time")
        self.jobs.extend(new)
        return new

    def submit(self, jobs: list[FigureJob]) -> None:
        self._new(jobs)

    def _draw_here(self, jobs: list[FigureJob]) -> None:
        for job in jobs:
            try:
                self._paths[job.key] = job.draw()
            except FigureError as e:
                self._errors[job.key] = str(e)

    def wait(self) -> dict[str, Path]:
        """`{key: path}` of every submitted figure, once drawn; FigureError naming each that failed (the others are
        drawn all the same)."""
        self._draw_here([j for j in self.jobs if j.key not in self._paths and j.key not in self._errors])
        if self._errors:
            raise FigureError("; ".join(self._errors[j.key] for j in self.jobs if j.key in self._errors))
        return {j.key: self._paths[j.key] for j in self.jobs}

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class FigureWorker(InlineFigures):
    """Starts the child at once (module docstring); `submit` hands it the jobs, `wait` collects the PNGs."""

    def __init__(self) -> None:
        super().__init__()
        self._why_not: str | None = None
        self._proc: subprocess.Popen | None = None
        if not sys.executable or getattr(sys, "frozen", False):  # an embedded or frozen Python: nothing to start
            self._why_not = "could not be started (no Python interpreter to run)"
            return
        flags = (
            ["-I"] if sys.flags.isolated else ["-E"] * sys.flags.ignore_environment + ["-s"] * sys.flags.no_user_site
        )
        try:
            self._proc = subprocess.Popen(
                [sys.executable, *flags, "-c", _CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True
            )
        except (OSError, ValueError) as e:
            self._why_not = f"could not be started ({e})"

    @property
    def pid(self) -> int | None:
        """The child's process id (None: it could not be started, or was stopped)."""
        return self._proc.pid if self._proc is not None else None

    def submit(self, jobs: list[FigureJob]) -> None:
        jobs = self._new(jobs)
        if self._proc is None or self._why_not or not jobs:
            return
        try:
            self._proc.stdin.write("".join(j.to_json() + "\n" for j in jobs).encode())
            self._proc.stdin.flush()
        except OSError as e:  # the child is gone: wait() draws what it did not answer
            self._why_not = f"stopped taking figures ({e})"

    def wait(self) -> dict[str, Path]:
        if self._proc is not None:
            try:
                self._proc.stdin.close()
            except OSError:
                pass
            for line in self._proc.stdout:
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue  # not an answer; the job it belonged to counts as unanswered
                if not isinstance(msg, dict) or not isinstance(msg.get("key"), str):
                    continue
                job = next((j for j in self.jobs if j.key == msg["key"]), None)
                if job is not None and "error" in msg:
                    self._errors[job.key] = job._failure(str(msg["error"]))
                elif job is not None and isinstance(msg.get("path"), str):
                    self._paths[job.key] = Path(msg["path"])
            code = self._proc.wait()
            self._proc.stdout.close()
            if code != 0 and not self._why_not:
                self._why_not = f"exited with status {code}"
        missing = [j for j in self.jobs if j.key not in self._paths and j.key not in self._errors]
        if missing:
            logger.warning(
                "figure worker %s: drawing %d figure(s) in this process (%s)",
                self._why_not or "did not answer",
                len(missing),
                ", ".join(j.path.name for j in missing),
            )
        return super().wait()

    def close(self) -> None:
        """Stop the child if it still runs (an early error: its figures are not wanted any more)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        for f in (proc.stdin, proc.stdout) if proc is not None else ():
            try:
                f.close()
            except OSError:
                pass


def serve() -> None:
    """The child's loop (module docstring). Not for direct use."""
    import queue
    import signal

    # Ctrl-C reaches the whole process group: the caller stops (and so stops this child); no second traceback here
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # the answers get the real stdout to themselves; whatever else prints (a library's chatter) goes to stderr
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    lines: queue.SimpleQueue = queue.SimpleQueue()

    def read() -> None:
        for line in sys.stdin.buffer:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    from . import plots

    try:
        plots.warm_up()
    except Exception:  # matplotlib missing or broken: the caller draws (and raises the real error) itself
        os._exit(3)
    while (line := lines.get()) is not None:
        key = None
        try:
            job = json.loads(line)
            key = job["key"]
            answer = {"key": key, "path": str(_call(job["fn"], job["args"], job["kwargs"]))}
        except Exception as e:  # every failure is answered: the caller names the figure and raises
            answer = {"key": key, "error": f"{type(e).__name__}: {e}"}
        try:
            out.write(json.dumps(answer) + "\n")
            out.flush()
        except OSError:  # the caller is gone: nobody wants the rest
            os._exit(0)
    sys.stderr.flush()
    os._exit(0)


def start_figures() -> InlineFigures:
    """The executor for this machine: a `FigureWorker` when this process may run on more than one CPU, else
    `InlineFigures` (on one core the worker gains nothing and costs its interpreter's start and matplotlib's import
    beside the caller's: 12 % slower when measured, BENCHMARKS.md)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no affinity on this platform
        cpus = os.cpu_count() or 1
    return FigureWorker() if cpus > 1 else InlineFigures()


__all__ = ["PLOTTERS", "FigureError", "FigureJob", "FigureWorker", "InlineFigures", "serve", "start_figures"]
