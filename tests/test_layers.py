"""The dependency direction between Parley's packages, checked on the source (docs/decisions/
0011-layering-and-sans-io-session.md).

Every module's imports are read with `ast` — including imports inside functions and under
`if TYPE_CHECKING:`, since a type-only import is still a dependency of the code — and each
one into another project package must be one its package's rule allows. A failure names
the file, the line and the import, and says which rule it breaks.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Every top-level package of the project. An import of anything else is a third-party or
# standard-library one and is not this test's business.
PROJECT = frozenset(
    {"app", "bench", "bridges", "broker", "client", "domain", "edge", "migrations", "models"}
    | {"realtime", "rest", "tests"}
)
# app.settings is configuration: a leaf (it imports nothing of the project) that the edge
# and the transports read. Every other module of app/ is wiring only the root itself uses.
SETTINGS = "app.settings"

# Package (or module) -> what of the project it may import besides itself. A name allows
# that module and everything under it. Packages without a rule (app, bench, migrations,
# tests) are entry points and may import anything.
RULES: dict[str, frozenset[str]] = {
    "broker": frozenset(),
    "models": frozenset(),
    "domain": frozenset({"models", "broker"}),
    "edge": frozenset({"domain", "models", "broker", SETTINGS}),
    "rest": frozenset({"edge", "domain", "models", "broker", SETTINGS}),
    "realtime": frozenset({"edge", "domain", "models", "broker", SETTINGS}),
    "client": frozenset(),
    "bridges": frozenset({"client"}),
    SETTINGS: frozenset(),
}
WHY = {
    "broker": "broker/ knows channels and bytes and imports nothing of the project",
    "models": "models/ is the bottom of the server: no domain, app or transport",
    "domain": "domain/ is used by every transport and must import none of them, nor app/",
    "edge": "edge/ is shared by rest/ and realtime/ and may import neither (nor app/ "
    "beyond app.settings)",
    "rest": "rest/ must not import realtime/ (only app/ wires both), nor app/ beyond app.settings",
    "realtime": "realtime/ must not import rest/ (only app/ wires both), nor app/ beyond "
    "app.settings",
    "client": "client/ is outside the server and imports none of it",
    "bridges": "bridges/ are built on client/, never on server internals",
    SETTINGS: "app.settings must stay a leaf so the edge and transports can read it",
}


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.imported}: {WHY[self.rule]}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def rule_for(module: str) -> str | None:
    """The most specific rule that governs `module` (app.settings before app)."""
    for name in sorted(RULES, key=len, reverse=True):
        if module == name or module.startswith(name + "."):
            return name
    return None


def _within(name: str, allowed: str) -> bool:
    return name == allowed or name.startswith(allowed + ".")


def imported_names(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, list[str]]]:
    """For each import statement: its line and the names it may refer to.

    `from a import b` may import the module `a.b` or the name `b` of `a`: both candidates
    are returned, and the import is allowed when either is. Relative imports are resolved
    against `module`.
    """
    found: list[tuple[int, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, [alias.name]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")
                if not is_package:
                    package.pop()
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            found.extend((node.lineno, [base, f"{base}.{alias.name}"]) for alias in node.names)
    return found


def check_source(source: str, module: str, path: str, is_package: bool = False) -> list[Violation]:
    rule = rule_for(module)
    if rule is None:
        return []
    own = rule.split(".")[0] if rule != SETTINGS else SETTINGS
    allowed = RULES[rule] | {own}
    violations = []
    for line, names in imported_names(ast.parse(source, path), module, is_package):
        if names[0].split(".")[0] not in PROJECT:
            continue
        if not any(_within(name, ok) for name in names for ok in allowed):
            violations.append(Violation(path, line, names[0], rule))
    # `from a import b, c` is one import of `a`: reported once.
    return list(dict.fromkeys(violations))


def project_files() -> list[Path]:
    return sorted(
        path
        for package in PROJECT
        if (ROOT / package).is_dir()
        for path in (ROOT / package).rglob("*.py")
    )


def test_every_import_goes_the_allowed_way() -> None:
    violations = [
        violation
        for path in project_files()
        for violation in check_source(
            path.read_text(encoding="utf-8"),
            module_name(path),
            str(path.relative_to(ROOT)),
            is_package=path.name == "__init__.py",
        )
    ]
    assert not violations, "imports against the layering rules:\n" + "\n".join(
        str(v) for v in violations
    )


def test_every_governed_package_exists() -> None:
    """A rule for a package that was renamed away would silently check nothing."""
    for name in RULES:
        path = ROOT / name.replace(".", "/")
        assert path.is_dir() or path.with_suffix(".py").is_file(), name


@pytest.mark.parametrize(
    ("module", "source", "bad"),
    [
        ("realtime.sse", "from rest.deps import ServicesDep", "rest.deps"),
        ("domain.accounts", "from app.security import TokenCodec", "app.security"),
        ("domain.seed", "from app.settings import Settings", "app.settings"),
        ("domain.chat", "def f():\n    from realtime import hub", "realtime"),
        ("edge.errors", "import rest.errors", "rest.errors"),
        ("rest.rooms", "from app import main", "app"),
        ("rest.rooms", "from realtime.hub import Hub", "realtime.hub"),
        ("models.users", "from domain.errors import Invalid", "domain.errors"),
        ("broker.redis", "from models import User", "models"),
        ("client.link", "from realtime.frames import dump", "realtime.frames"),
        ("bridges.telegram", "from domain import chat", "domain"),
        ("app.settings", "from domain.limits import MAX_TOKEN_CHARS", "domain.limits"),
        (
            "realtime.ws",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from rest import deps",
            "rest",
        ),
    ],
)
def test_the_checker_names_an_offending_import(module: str, source: str, bad: str) -> None:
    (violation,) = check_source(source, module, f"{module}.py")
    assert violation.imported == bad
    assert bad in str(violation) and f"{module}.py:" in str(violation)


@pytest.mark.parametrize(
    ("module", "source", "is_package"),
    [
        ("realtime.ws", "from app.settings import Settings", False),
        ("rest.auth", "from app import settings", False),
        ("realtime.ws", "from . import frames", False),
        ("domain.triage", "from .engine import triage", True),
        ("bridges.telegram", "from client import Client", False),
        ("app.main", "from rest import auth\nfrom realtime import ws", False),
        ("tests.test_x", "from realtime.hub import Hub", False),
        ("domain.chat", "import redis\nfrom sqlalchemy import select", False),
    ],
)
def test_the_checker_allows_what_the_rules_allow(
    module: str, source: str, is_package: bool
) -> None:
    assert check_source(source, module, f"{module}.py", is_package) == []
