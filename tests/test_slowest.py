"""tests.slowest: the slowest tests of JUnit XML files, as .ci/run prints them."""

from tests.slowest import main, slowest

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest">
<testcase classname="tests.test_a" name="test_quick" time="0.5"/>
<testcase classname="tests.test_a" name="test_slow[x]@group" time="12.25"/>
<testcase classname="tests.test_b" name="test_middle" time="3.0"/>
</testsuite></testsuites>
"""


def test_the_slowest_come_first_over_every_file(tmp_path, capsys):
    (tmp_path / "one.xml").write_text(REPORT)
    (tmp_path / "two.xml").write_text(REPORT.replace("test_middle", "test_other").replace('"3.0"', '"20"'))
    files = [str(tmp_path / "one.xml"), str(tmp_path / "two.xml")]
    assert slowest(files, top=2) == [(20.0, "tests/test_b.py::test_other"), (12.25, "tests/test_a.py::test_slow[x]@group")]
    main(["--top", "3", *files])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "3 slowest tests:" and lines[1].split() == ["20.00s", "tests/test_b.py::test_other"]
