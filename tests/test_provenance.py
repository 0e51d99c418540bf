"""What a rule's code param covers: the package modules its script imports, by their code alone."""

import re
from pathlib import Path

import pytest

from rnnbench.provenance import code_digest, imported_modules, module_digest, script_modules

REPO = Path(__file__).resolve().parents[1]


def rule_scripts(root=REPO) -> dict[str, str]:
    """Rule -> the name of the script it runs (scripts/<name>.py), read from the rule files; every
    such rule must pass ``code=code("<name>")`` (the pad rule: ``pad_code``, its script's and its
    dataset kind's; train and fit: their script's and their run's family's)."""
    found = {}
    for path in sorted((Path(root) / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"\n(?=(?:rule|checkpoint) \w+:)", path.read_text()):
            rule = re.match(r"(?:rule|checkpoint) (\w+):", block.strip())
            script = re.search(r'script:\s*"\.\./\.\./scripts/(\w+)\.py"', block)
            if rule and script:
                own = f'code=code("{script.group(1)}")' in block or (script.group(1) == "pad" and "code=pad_code," in block) \
                    or (script.group(1) == "train" and "code=train_code," in block) \
                    or (script.group(1) == "fit" and "code=fit_code," in block)
                assert own, f"rule {rule.group(1)} lacks its code param"
                found[rule.group(1)] = script.group(1)
    return found


def test_every_rule_passes_the_digest_of_its_own_script():
    assert set(rule_scripts()) == {"download", "pad", "train", "fit", "evaluate", "aggregate", "compare", "documents", "figures",
                                   "sweep_figures", "trials", "budget", "search_figures", "report"}


def package(tmp_path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_imports_anywhere_in_a_file_are_found_transitively(tmp_path):
    root = package(tmp_path, {
        "rnnbench/__init__.py": "",
        "rnnbench/a.py": "import numpy\nfrom rnnbench.b import f\n",
        "rnnbench/b.py": "def f():\n    from rnnbench import c\n    return c.g()\n",
        "rnnbench/c.py": "import rnnbench.d as d\n",
        "rnnbench/d.py": "x = 1\n",
        "rnnbench/unused.py": "y = 2\n",
        "scripts/job.py": "import sys\nfrom rnnbench.a import f\nfrom rnnbench.missing import z\n",
    })
    assert imported_modules(root / "scripts" / "job.py", root) == {"rnnbench", "rnnbench.a"}
    assert script_modules(root / "scripts" / "job.py", root) == ["rnnbench", "rnnbench.a", "rnnbench.b", "rnnbench.c",
                                                                 "rnnbench.d"]


def test_the_real_scripts_import_what_the_issue_found_missing():
    """figures and report load results from one module; every script reaches io; train reaches its settings
    and engines, but not the config language (rnnbench.config, rnnbench.studies), which can then grow
    without rerunning a finished run."""
    modules = {script.stem: set(script_modules(script, REPO)) for script in (REPO / "scripts").glob("*.py")}
    assert "rnnbench.results" in modules["figures"] & modules["report"]
    assert all("rnnbench.io" in names for names in modules.values())
    assert {"rnnbench.settings", "rnnbench.engines", "rnnbench.models", "rnnbench.training"} <= modules["train"]
    for script in ("download", "pad", "train", "evaluate"):
        assert not {"rnnbench.config", "rnnbench.studies", "rnnbench.search"} & modules[script], script
    assert "rnnbench.training" not in modules["evaluate"] | modules["report"]


CODE = '''"""A module."""

import math


def area(radius):
    """The area."""
    return math.pi * radius ** 2
'''


@pytest.mark.parametrize("edited", [
    CODE.replace('"""A module."""', '"""Another docstring."""'),
    CODE.replace('    """The area."""\n', ""),
    CODE.replace("import math\n", "import math  # for pi\n\n\n"),
    CODE.replace("math.pi * radius ** 2", "math.pi * (radius ** 2)"),
    CODE.replace("def area(radius):", "def area(\n    radius,\n):"),
], ids=["module-docstring", "function-docstring-removed", "comment-and-blank-lines", "redundant-parentheses", "layout"])
def test_what_leaves_the_code_alone_leaves_the_digest(tmp_path, edited):
    original, changed = tmp_path / "original.py", tmp_path / "changed.py"
    original.write_text(CODE)
    changed.write_text(edited)
    assert module_digest(changed) == module_digest(original)


@pytest.mark.parametrize("edited", [
    CODE.replace("** 2", "** 3"),
    CODE.replace("import math", "import cmath as math"),
    CODE + "\nTAU = 2 * math.pi\n",
    CODE.replace('    """The area."""\n', '    "The area."\n    "and a string expression that is not the docstring"\n'),
], ids=["constant", "import", "new-name", "second-string"])
def test_what_changes_the_code_changes_the_digest(tmp_path, edited):
    original, changed = tmp_path / "original.py", tmp_path / "changed.py"
    original.write_text(CODE)
    changed.write_text(edited)
    assert module_digest(changed) != module_digest(original)


def test_a_scripts_digest_follows_its_modules(tmp_path):
    root = package(tmp_path, {"rnnbench/__init__.py": "", "rnnbench/a.py": "x = 1\n", "rnnbench/b.py": "y = 1\n",
                              "scripts/job.py": "from rnnbench import a\n"})
    before = code_digest(root / "scripts" / "job.py", root)
    (root / "rnnbench" / "b.py").write_text("y = 2\n")  # not imported
    assert code_digest(root / "scripts" / "job.py", root) == before
    (root / "rnnbench" / "a.py").write_text("x = 2\n")
    assert code_digest(root / "scripts" / "job.py", root) != before


def test_a_data_file_the_module_names_counts_as_its_code(tmp_path):
    """rnnbench.report names its Jinja2 template: an edit to the template changes the report's digest."""
    root = package(tmp_path, {"rnnbench/__init__.py": "", "rnnbench/page.py": 'TEMPLATE = "page.html.j2"\n',
                              "rnnbench/templates/page.html.j2": "<p>{{ x }}</p>\n",
                              "rnnbench/templates/other.html.j2": "unused\n"})
    before = module_digest(root / "rnnbench" / "page.py")
    (root / "rnnbench" / "templates" / "other.html.j2").write_text("still unused\n")
    assert module_digest(root / "rnnbench" / "page.py") == before
    (root / "rnnbench" / "templates" / "page.html.j2").write_text("<p>{{ x }}!</p>\n")
    assert module_digest(root / "rnnbench" / "page.py") != before


def test_a_dataset_kind_is_in_no_digest_but_its_own_datasets_pad():
    """The table kind's module is reached by name, so no script's digest holds it; the pad rule adds
    it for table datasets only: an edit to it reruns no Reuters job."""
    from rnnbench.data import LOADERS

    for script in (REPO / "scripts").glob("*.py"):
        assert "rnnbench.tables" not in script_modules(script, REPO), script.name
    pad = REPO / "scripts" / "pad.py"
    assert "rnnbench.tables" in script_modules(pad, REPO, [LOADERS["table"]])
    assert code_digest(pad, REPO, [LOADERS["reuters"]]) == code_digest(pad, REPO)
    assert code_digest(pad, REPO, [LOADERS["table"]]) != code_digest(pad, REPO)
