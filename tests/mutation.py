"""Mutation testing: does a module's own test file notice one small change to the module?

    python tests/mutation.py                          # the four modules (see TARGETS)
    python tests/mutation.py --module filter_sql      # one module (name or path)
    python tests/mutation.py --sample 150 --seed 1    # the default: 150 sampled mutants
    python tests/mutation.py --sample 0               # every mutant of every module
    python tests/mutation.py --module filter --list   # list the mutants, run nothing
    python tests/mutation.py --only 'app/scim/filter.py:170:11 cmp0:!=>=='   # one mutant

Each mutant is ONE change made on the module's AST, turned back into source with
``ast.unparse``: a comparison operator flipped (``==``/``!=``, ``<``/``<=``, ``>``/``>=``,
``in``/``not in``, ``is``/``is not``), ``and``/``or`` swapped, an ``if`` condition (statement,
conditional expression or comprehension filter) negated, a statement of a function replaced by
``pass``, a number constant moved by one, ``True``/``False`` swapped, or a string constant
replaced by another (``""``, or ``"XX"`` for an empty one). Docstrings, annotations and ``__all__`` are never mutated.

Every mutant runs in a fresh ``python -m pytest -x`` over the module's own tests, inside a
temporary copy of ``app/``, ``tests/`` and ``pyproject.toml``: the real files are never
written. A failing run, or one slower than the timeout, has *detected* the mutant; a passing
run lets it *survive*. Surviving mutants that cannot change behaviour are listed, with a reason,
in ``tests/README.md`` ("Equivalent mutants"); the score leaves them out.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from queue import Queue

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "tests" / "README.md"


@dataclass(frozen=True)
class Target:
    """A module under test and its own tests; ``exhaustive`` modules are never sampled."""

    name: str
    source: str
    tests: tuple[str, ...]
    exhaustive: bool = False


TARGETS: tuple[Target, ...] = (
    Target(
        "filter",
        "app/scim/filter.py",
        ("tests/scim/test_filter.py", "tests/scim/test_filter_edges.py"),
    ),
    Target(
        "filter_sql",
        "app/scim/filter_sql.py",
        (
            "tests/scim/test_filter_sql.py",
            "tests/scim/test_filter_sql_edges.py",
            "tests/scim/test_filter_sql_shipped.py",
        ),
    ),
    Target(
        "idtoken",
        "app/auth/idtoken.py",
        ("tests/auth/test_idtoken.py", "tests/auth/test_oidc.py"),
        exhaustive=True,
    ),
    Target(
        "patch",
        "app/scim/patch.py",
        (
            "tests/scim/test_patch.py",
            "tests/scim/test_patch_edges.py",
            "tests/scim/test_patch_details.py",
            "tests/scim/test_patch_limits.py",
            "tests/scim/test_patch_immutable.py",
        ),
    ),
    Target(
        "immutable",
        "app/scim/immutable.py",
        ("tests/scim/test_patch_immutable.py", "tests/scim/test_patch_edges.py"),
        exhaustive=True,
    ),
)

# --- mutants ----------------------------------------------------------------------------------

_FLIP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_SYMBOL: dict[type[ast.cmpop], tuple[str, str]] = {  # (as written, as named in a key)
    ast.Eq: ("==", "eq"),
    ast.NotEq: ("!=", "ne"),
    ast.Lt: ("<", "lt"),
    ast.LtE: ("<=", "le"),
    ast.Gt: (">", "gt"),
    ast.GtE: (">=", "ge"),
    ast.In: ("in", "in"),
    ast.NotIn: ("not in", "notin"),
    ast.Is: ("is", "is"),
    ast.IsNot: ("is not", "isnot"),
}
_SKIPPED_FIELDS = frozenset({"annotation", "returns", "type_comment", "type_params"})


@dataclass(frozen=True)
class Site:
    """One mutation: where (1-based line, 0-based column), a stable code, and a description."""

    line: int
    col: int
    code: str  # e.g. "cmp0:==>!=", "delete", "num:+1", "str"
    change: str  # for a human: "`==` -> `!=`"
    apply: Callable[[], None] = field(compare=False, repr=False)
    scope: str = ""  # the enclosing class or function ("_Parser.next"); a decorator's is its own


@dataclass(frozen=True)
class Mutant:
    source: str  # path relative to ROOT
    index: int  # position in ``_sites`` order
    line: int
    col: int
    code: str
    change: str
    context: str  # the original source line
    scope: str = ""

    @property
    def key(self) -> str:
        return f"{self.source}:{self.line}:{self.col} {self.code}"

    @property
    def anchor(self) -> str:
        """What the equivalence list matches on: the key without its line number, and the
        source line itself, so that an edit elsewhere in the module keeps the list valid."""
        return f"{self.source}:{self.col} {self.code} in {self.scope} on {self.context.strip()}"

    @property
    def listing(self) -> str:
        """This mutant as a line of the equivalence list in tests/README.md, less the reason."""
        return f"- `{self.key}` in `{self.scope}` on `{self.context.strip()}`"


def _short(node: ast.AST, limit: int = 60) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_docstring(node: ast.stmt, parent: ast.AST, index: int) -> bool:
    return (
        index == 0
        and isinstance(parent, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _is_dunder_all(node: ast.stmt) -> bool:
    targets = node.targets if isinstance(node, ast.Assign) else []
    if isinstance(node, ast.AnnAssign):
        targets = [node.target]
    return any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets)


def _deletable(node: ast.stmt) -> bool:
    """Not ``pass``, a nested definition, or the ``...`` body of a protocol method."""
    if isinstance(node, ast.Pass | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return False
    return not (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and node.value.value is Ellipsis
    )


def _negated(test: ast.expr) -> ast.expr:
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return test.operand
    return ast.UnaryOp(ast.Not(), test)


def _scope_name(node: ast.AST, in_function: bool) -> str | None:
    """The name a mutant inside ``node`` is known by: a class's, a function's, or the one name
    a statement outside any function assigns to (``USERS_TABLE = SqlTable(...)``)."""
    if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
        return node.name
    target = None
    if in_function:
        return None
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
    elif isinstance(node, ast.AnnAssign):
        target = node.target
    return target.id if isinstance(target, ast.Name) else None


def _sites(tree: ast.Module) -> list[Site]:
    """Every mutation of ``tree``, in a deterministic order; each ``apply`` edits ``tree``."""
    sites: list[Site] = []
    scope: list[str] = []

    def add(node: ast.AST, code: str, change: str, apply: Callable[[], None]) -> None:
        line, col = node.lineno, node.col_offset  # type: ignore[attr-defined]
        sites.append(Site(line, col, code, change, apply, ".".join(scope) or "<module>"))

    def expression(node: ast.AST) -> None:
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                flipped = _FLIP.get(type(op))
                if flipped is not None:

                    def flip(node: ast.Compare = node, i: int = i, new: type = flipped) -> None:
                        node.ops[i] = new()

                    (before, old), (after, new) = _SYMBOL[type(op)], _SYMBOL[flipped]
                    add(node, f"cmp{i}:{old}>{new}", f"`{before}` -> `{after}`", flip)
        elif isinstance(node, ast.BoolOp):
            other = ast.Or if isinstance(node.op, ast.And) else ast.And
            names = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")

            def swap(node: ast.BoolOp = node, new: type = other) -> None:
                node.op = new()

            add(node, f"boolop:{names[0]}>{names[1]}", f"`{names[0]}` -> `{names[1]}`", swap)
        elif isinstance(node, ast.IfExp):

            def negate_ifexp(node: ast.IfExp = node) -> None:
                node.test = _negated(node.test)

            add(node.test, "negate", f"`{_short(node.test)}` negated", negate_ifexp)
        elif isinstance(node, ast.comprehension):
            for i, test in enumerate(node.ifs):

                def negate_filter(node: ast.comprehension = node, i: int = i) -> None:
                    node.ifs[i] = _negated(node.ifs[i])

                add(test, "negate", f"`if {_short(test)}` negated", negate_filter)
        elif isinstance(node, ast.Constant):
            constant(node)

    def constant(node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool):

            def flip_bool(node: ast.Constant = node) -> None:
                node.value = not node.value

            add(node, f"bool:{value}>{not value}", f"`{value}` -> `{not value}`", flip_bool)
        elif isinstance(value, int | float):
            for delta in (1, -1):

                def shift(node: ast.Constant = node, new: int | float = value + delta) -> None:
                    node.value = new

                add(node, f"num:{delta:+d}", f"`{value!r}` -> `{value + delta!r}`", shift)
        elif isinstance(value, str):
            # Emptied rather than wrapped: "XX" + s + "XX" still contains s, which tests that
            # look for a phrase, and character sets that only gain letters, would not notice.
            other = "" if value else "XX"

            def replace(node: ast.Constant = node, other: str = other) -> None:
                node.value = other

            add(node, "str", f"`{_short(node)}` -> `{other[:60]!r}`", replace)

    def visit(node: ast.AST, in_function: bool) -> None:
        name = _scope_name(node, in_function)
        named = name is not None
        if name is not None:
            scope.append(name)
        try:
            visit_fields(node, in_function)
        finally:
            if named:
                scope.pop()

    def visit_fields(node: ast.AST, in_function: bool) -> None:
        expression(node)
        if isinstance(node, ast.If):

            def negate_if(node: ast.If = node) -> None:
                node.test = _negated(node.test)

            add(node.test, "negate", f"`if {_short(node.test)}` negated", negate_if)
        inner = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for name, value in ast.iter_fields(node):
            if name in _SKIPPED_FIELDS:
                continue
            if isinstance(value, list):
                statements(node, value, inner)
            elif isinstance(value, ast.AST):
                visit(value, inner)

    def statements(parent: ast.AST, items: list[object], in_function: bool) -> None:
        for index, item in enumerate(items):
            if not isinstance(item, ast.AST):
                continue
            if isinstance(item, ast.stmt):
                if _is_docstring(item, parent, index) or _is_dunder_all(item):
                    continue
                if in_function and _deletable(item):

                    def delete(body: list[object] = items, index: int = index) -> None:
                        old = body[index]
                        assert isinstance(old, ast.stmt)
                        body[index] = ast.copy_location(ast.Pass(), old)

                    add(item, "delete", f"`{_short(item)}` -> `pass`", delete)
            visit(item, in_function)

    visit(tree, False)
    return sites


def mutants(source: str) -> list[Mutant]:
    """Every mutant of the module at ``source`` (relative to ROOT) that still compiles."""
    text = (ROOT / source).read_text(encoding="utf-8")
    lines = text.splitlines()
    found = []
    seen: dict[tuple[int, int, str], int] = {}
    alike: dict[tuple[int, str, str, str], int] = {}  # same change, scope and source line
    for index, site in enumerate(_sites(ast.parse(text))):
        try:
            compile(mutated_source(source, index, text), source, "exec")
        except SyntaxError:
            continue
        spot = (site.line, site.col, site.code)
        seen[spot] = seen.get(spot, 0) + 1
        code = site.code if seen[spot] == 1 else f"{site.code}#{seen[spot]}"
        context = lines[site.line - 1].strip() if site.line <= len(lines) else ""
        twin = (site.col, code, site.scope, context)
        alike[twin] = alike.get(twin, 0) + 1
        scope = site.scope if alike[twin] == 1 else f"{site.scope}#{alike[twin]}"
        mutant = Mutant(source, index, site.line, site.col, code, site.change, context, scope)
        found.append(mutant)
    return found


def mutated_source(source: str, index: int, text: str | None = None) -> str:
    """The module with mutation number ``index`` (in ``_sites`` order) applied."""
    text = text if text is not None else (ROOT / source).read_text(encoding="utf-8")
    tree = ast.parse(text)
    _sites(tree)[index].apply()
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def _source_for(mutant: Mutant) -> str:
    return mutated_source(mutant.source, mutant.index)


# --- equivalent mutants -----------------------------------------------------------------------

_EQUIVALENT = re.compile(
    r"^- `(?P<source>app/\S+):\d+:(?P<col>\d+) (?P<code>\S+)` in `(?P<scope>\S+)`"
    r" on `(?P<context>.+?)`"
    r"\s+(?:—|--)\s+(?P<reason>.+)$"
)


def equivalents(readme: Path = README) -> dict[str, str]:
    """The mutants classified as equivalent in the README: anchor (see `Mutant.anchor`) ->
    reason. The line number in a listed key is for the reader; the source line decides."""
    if not readme.exists():
        return {}
    found = {}
    for line in readme.read_text(encoding="utf-8").splitlines():
        match = _EQUIVALENT.match(line.strip())
        if match is None and line.startswith("- `app/"):
            print(f"tests/README.md: cannot read this entry: {line}", file=sys.stderr)
        if match:
            anchor = (
                f"{match['source']}:{match['col']} {match['code']} in {match['scope']}"
                f" on {match['context']}"
            )
            found[anchor] = match["reason"]
    return found


# --- running ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    mutant: Mutant
    detected: bool
    how: str  # "failed", "timeout", "passed"
    seconds: float


class Sandbox:
    """A private copy of the tree in which one module at a time is rewritten."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mutation-"))
        ignore = shutil.ignore_patterns("__pycache__", "node_modules", ".hypothesis", "*.pyc")
        for name in ("app", "tests"):
            shutil.copytree(ROOT / name, self.root / name, ignore=ignore)
        shutil.copy2(ROOT / "pyproject.toml", self.root / "pyproject.toml")

    def write(self, source: str, text: str) -> None:
        path = self.root / source
        path.write_text(text, encoding="utf-8")
        # A same-sized rewrite within the same second would pass the .pyc freshness check.
        for cached in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
            cached.unlink()

    def restore(self, source: str) -> None:
        self.write(source, (ROOT / source).read_text(encoding="utf-8"))

    def pytest(self, tests: Sequence[str], timeout: float) -> tuple[str, float, str]:
        """Run the tests fail-fast: ("passed" | "failed" | "timeout", seconds, output tail)."""
        missing = [t for t in tests if not (self.root / t).exists()]
        if missing:  # a renamed test file would silently lower the bar
            raise SystemExit(f"test files listed in TARGETS are missing: {missing}")
        present = list(tests)
        command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
        if not any("hypothesis" in (self.root / t).read_text(encoding="utf-8") for t in present):
            command += ["-p", "no:hypothesispytest"]  # its import is most of pytest's start-up
        command += present
        env = {**os.environ, "PYTHONPATH": str(self.root)}
        started = time.monotonic()
        with subprocess.Popen(
            command,
            cwd=self.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        ) as proc:
            try:
                output, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                return "timeout", time.monotonic() - started, ""
        seconds = time.monotonic() - started
        tail = "\n".join(output.strip().splitlines()[-15:])
        return ("passed" if proc.returncode == 0 else "failed"), seconds, tail

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _check_tree(sandbox: Sandbox, target: Target) -> float:
    """Baseline and canary: the tests pass here, and they import the sandbox's own module."""
    how, seconds, tail = sandbox.pytest(target.tests, timeout=600)
    if how != "passed":
        raise SystemExit(f"{target.source}: its tests fail without any mutant:\n{tail}")
    sandbox.write(target.source, 'raise RuntimeError("mutation canary")\n')
    try:
        how, _, _ = sandbox.pytest(target.tests, timeout=600)
    finally:
        sandbox.restore(target.source)
    if how != "failed":
        raise SystemExit(f"{target.source}: the tests do not import the sandbox's copy")
    return seconds


def run_target(
    target: Target, chosen: list[Mutant], jobs: int, timeout_factor: float, progress: bool
) -> tuple[list[Outcome], float]:
    sandboxes: Queue[Sandbox] = Queue()
    made = [Sandbox() for _ in range(max(1, min(jobs, len(chosen))))]
    try:
        baseline = _check_tree(made[0], target)
        timeout = max(15.0, timeout_factor * baseline)
        for sandbox in made:
            sandboxes.put(sandbox)
        lock = threading.Lock()
        done = [0]

        def one(mutant: Mutant) -> Outcome:
            sandbox = sandboxes.get()
            try:
                sandbox.write(mutant.source, _source_for(mutant))
                how, seconds, _ = sandbox.pytest(target.tests, timeout)
            finally:
                sandbox.restore(mutant.source)
                sandboxes.put(sandbox)
            outcome = Outcome(mutant, how != "passed", how, seconds)
            if progress:
                with lock:
                    done[0] += 1
                    mark = "survived" if how == "passed" else how
                    print(f"  [{done[0]}/{len(chosen)}] {mark:8} {mutant.key}", file=sys.stderr)
            return outcome

        pool = ThreadPoolExecutor(max_workers=len(made))
        try:
            outcomes = list(pool.map(one, chosen))
        finally:  # on Ctrl-C, let the running mutants finish and start no other
            pool.shutdown(wait=True, cancel_futures=True)
        return outcomes, baseline
    finally:
        for sandbox in made:
            sandbox.close()


# --- reporting --------------------------------------------------------------------------------


@dataclass
class Report:
    target: Target
    generated: int
    outcomes: list[Outcome]
    sampled: bool
    equivalent: dict[str, str]
    baseline: float
    anchors: frozenset[str] = frozenset()  # of every mutant of the module, run or not

    @property
    def detected(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.detected]

    @property
    def survived(self) -> list[Outcome]:
        return [
            o for o in self.outcomes if not o.detected and o.mutant.anchor not in self.equivalent
        ]

    @property
    def survived_equivalent(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.detected and o.mutant.anchor in self.equivalent]

    @property
    def score(self) -> float:
        counted = len(self.detected) + len(self.survived)
        return 100.0 * len(self.detected) / counted if counted else 100.0

    def lines(self) -> Iterator[str]:
        t = self.target
        timeouts = sum(1 for o in self.outcomes if o.how == "timeout")
        run = f"{len(self.outcomes)} sampled" if self.sampled else "all"
        yield f"## {t.source}  (tests: {', '.join(t.tests)})"
        yield (
            f"generated {self.generated}, run {len(self.outcomes)} ({run}), "
            f"detected {len(self.detected)} (of which {timeouts} by timeout), "
            f"survived {len(self.survived) + len(self.survived_equivalent)} "
            f"(equivalent {len(self.survived_equivalent)})"
        )
        yield (
            f"score {len(self.detected)}/{len(self.detected) + len(self.survived)} = "
            f"{self.score:.1f}% of non-equivalent mutants detected (baseline {self.baseline:.1f}s)"
        )
        if self.survived:
            yield "survived (not classified as equivalent):"
            for o in self.survived:
                yield f"  {o.mutant.key}  {o.mutant.change}"
                yield f"      | {o.mutant.context}"
                yield f"      {o.mutant.listing} — (if equivalent: why)"
        if self.survived_equivalent:
            yield "survived, equivalent (tests/README.md):"
            for o in self.survived_equivalent:
                reason = self.equivalent[o.mutant.anchor]
                yield f"  {o.mutant.key}  {o.mutant.change}  -- {reason}"
        prefix = f"{self.target.source}:"
        unknown = [a for a in self.equivalent if a.startswith(prefix) and a not in self.anchors]
        if unknown:
            yield "listed as equivalent but no such mutant any more (edit tests/README.md):"
            for anchor in unknown:
                yield f"  {anchor}"
        stale = [o for o in self.detected if o.mutant.anchor in self.equivalent]
        if stale:
            yield "listed as equivalent but detected (remove from tests/README.md):"
            for o in stale:
                yield f"  {o.mutant.key}"
        yield ""

    def as_json(self) -> dict[str, object]:
        return {
            "module": self.target.source,
            "tests": list(self.target.tests),
            "generated": self.generated,
            "run": len(self.outcomes),
            "detected": len(self.detected),
            "survived": [o.mutant.key for o in self.survived],
            "equivalent": [o.mutant.key for o in self.survived_equivalent],
            "score": round(self.score, 2),
        }


def _select(names: Sequence[str]) -> list[Target]:
    if not names:
        return list(TARGETS)
    chosen = []
    for name in names:
        match = [t for t in TARGETS if name in (t.name, t.source)]
        if not match:
            known = ", ".join(t.name for t in TARGETS)
            raise SystemExit(f"unknown module {name!r}; one of: {known}")
        chosen.extend(match)
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--module", action="append", default=[], help="name or path; repeatable")
    parser.add_argument("--sample", type=int, default=150, help="mutants per module (0: all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout-factor", type=float, default=4.0, help="x the baseline run")
    parser.add_argument("--only", action="append", default=[], help="mutant key(s) to run")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--show", metavar="KEY", help="print one mutant's source and stop")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--fail-under", type=float, help="exit 1 if a score is below this")
    parser.add_argument("--quiet", action="store_true", help="no per-mutant progress")
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so the sandboxes are removed either way.
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    known = equivalents()
    reports = []
    for target in _select(args.module):
        every = mutants(target.source)
        if args.show:
            shown = [m for m in every if m.key == args.show]
            if shown:
                print(_source_for(shown[0]), end="")
                return 0
            continue
        chosen = every
        sampled = False
        if args.only:
            chosen = [m for m in every if m.key in args.only]
        elif args.sample and not target.exhaustive and len(every) > args.sample:
            chosen = sorted(
                random.Random(args.seed).sample(every, args.sample),
                key=lambda m: (m.line, m.col, m.code),
            )
            sampled = True
        if args.list:
            for m in chosen:
                print(f"{m.key}  {m.change}")
            continue
        if not chosen:
            continue
        print(f"{target.source}: {len(chosen)} of {len(every)} mutants", file=sys.stderr)
        outcomes, baseline = run_target(
            target, chosen, args.jobs, args.timeout_factor, not args.quiet
        )
        anchors = frozenset(m.anchor for m in every)
        report = Report(target, len(every), outcomes, sampled, known, baseline, anchors)
        reports.append(report)
        print("\n".join(report.lines()), flush=True)
    if args.show:
        raise SystemExit(f"no mutant {args.show!r}")
    if len(reports) > 1:
        print("| module | generated | run | detected | survived | equivalent | score |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in reports:
            survived = len(r.survived) + len(r.survived_equivalent)
            print(
                f"| {r.target.source} | {r.generated} | {len(r.outcomes)} | {len(r.detected)} "
                f"| {survived} | {len(r.survived_equivalent)} | {r.score:.1f}% |"
            )
    if args.json:
        args.json.write_text(json.dumps([r.as_json() for r in reports], indent=2) + "\n")
    if args.fail_under is not None and any(r.score < args.fail_under for r in reports):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
