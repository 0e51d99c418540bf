"""The readings (docs/findings.md, README's Results) are rendered from the published tables, and a number
edited by hand in one of their sentences is named by publish --check."""

import shutil

import pytest

from rnnbench.publish import run_check
from rnnbench.readings import differences, p_value, render
from tests.conftest import REPO


@pytest.fixture
def docs(tmp_path):
    """A copy of the published results, the readings' templates, findings.md and README."""
    shutil.copytree(REPO / "docs", tmp_path / "docs", ignore=shutil.ignore_patterns("performance.md"))
    shutil.copy(REPO / "README.md", tmp_path / "README.md")
    return tmp_path / "docs"


def test_the_committed_readings_are_what_the_tables_give(docs):
    assert differences(docs) == []
    assert (docs / "findings.md").read_text() == render(docs, "findings.md.j2")


@pytest.mark.parametrize("path, old, new", [
    ("docs/findings.md", "it scores 0.864 (validation 0.877)", "it scores 0.874 (validation 0.877)"),
    ("README.md", "(ε_min 0.51,\n  documents p = 1.0;", "(ε_min 0.41,\n  documents p = 1.0;"),
])
def test_a_number_edited_by_hand_fails_the_check_naming_its_sentence(docs, capsys, path, old, new):
    target = docs.parent / path
    text = target.read_text()
    assert text.count(old) == 1, f"{old!r} not once in {path}"
    target.write_text(text.replace(old, new))
    assert run_check(docs, ["summary"]) == 1
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.strip().startswith(target.name))
    edited = new.split()[-2] if path == "README.md" else "0.874"
    assert edited in line.split("the tables give")[0] and old.split()[-2 if path == "README.md" else 2] in line


def test_p_values_are_quoted_with_two_significant_digits():
    assert [p_value(x) for x in (1.0, 0.9951, 0.97, 0.2, 0.085, 0.0067, 0.0011, 0.00017, 1.06e-08)] == [
        "1.0", "1.0", "0.97", "0.20", "0.085", "0.0067", "0.0011", "2 × 10⁻⁴", "1 × 10⁻⁸"]
