"""Which rnnbench modules a script runs, and a digest of what they compute.

A rule's outputs depend on its script and on every package module the script imports, directly or
through another module. ``code_digest`` hashes those modules' syntax trees with their docstrings
left out, so comments, docstrings and formatting change nothing, while any edit to what a module
computes changes the digest. The rules pass it as a param, which Snakemake records with each output
and compares on every run: no file lists to keep by hand.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

PACKAGE = "rnnbench"


def imported_modules(path, root) -> set[str]:
    """The package's modules that the Python file at ``path`` imports anywhere in it (at the top
    or inside a function), as dotted names; ``root`` is the folder that holds the package."""
    modules = {name for name in _parsed(path).imports if name == PACKAGE or name.startswith(PACKAGE + ".")}
    found = {name for name in modules if module_path(name, root) is not None}
    return found | ({PACKAGE} if found and module_path(PACKAGE, root) else set())  # the package's __init__ runs too


def module_path(name: str, root) -> Path | None:
    """The file of a dotted module name under ``root``, or None where there is no such module."""
    base = Path(root).joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def script_modules(script, root, modules=()) -> list[str]:
    """Every package module the script imports, directly or through other package modules, sorted;
    ``modules``: dotted names the script reaches by name at run time (a dataset kind's module), with
    what they import."""
    seen: set[str] = set()
    pending = imported_modules(script, root) | set(modules)
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending |= imported_modules(module_path(name, root), root) - seen
    return sorted(seen)


class _Parsed:
    """What the digests need of one source file: its code without docstrings, its imports, its strings."""

    def __init__(self, source: str, filename: str):
        tree = ast.parse(source, filename=filename)
        self.imports, self.strings = set(), set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                self.imports.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                self.imports.add(node.module)
                self.imports.update(f"{node.module}.{alias.name}" for alias in node.names)  # a module or a name
            elif isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                        and isinstance(body[0].value.value, str):
                    node.body = body[1:] or [ast.Pass()]
        self.strings = {node.value for node in ast.walk(tree)
                        if isinstance(node, ast.Constant) and isinstance(node.value, str)}
        self.code = ast.dump(tree)


def _parsed(path) -> _Parsed:
    """Each version of a file is parsed once per process (the workflow asks for a module once per rule)."""
    return _parse(Path(path).read_text(), str(path))


@functools.lru_cache(maxsize=None)
def _parse(source: str, path: str) -> _Parsed:
    return _Parsed(source, path)


def module_digest(path: Path) -> str:
    """sha256 of a module's syntax tree without docstrings (comments and layout never reach the tree),
    and of every data file in the package that the module names in a string (a template, say)."""
    parsed = _parsed(path)
    digest = hashlib.sha256(parsed.code.encode())
    for data in sorted(Path(path).parent.rglob("*")):
        if data.name in parsed.strings and data.is_file() and data.suffix != ".py" and "__pycache__" not in data.parts:
            digest.update(data.name.encode() + b"\0" + data.read_bytes())
    return digest.hexdigest()


def code_digest(script, root, modules=()) -> str:
    """One digest over the code of every package module the script imports (``script_modules``)."""
    lines = [f"{name} {module_digest(module_path(name, root))}" for name in script_modules(script, root, modules)]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def builder_digest(builder: str) -> str:
    """The digest of a model builder's own module (``package.module:function``, outside the package),
    so that an edit to it reruns its runs only; its own imports are its author's to pin."""
    from rnnbench.families.custom import builder_source

    return module_digest(builder_source(builder))[:16]
