"""The slowest tests of one or more JUnit XML files (pytest's --junitxml), each with its setup, call and
teardown: ``python -m tests.slowest [--top N] FILE...``."""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ElementTree


def slowest(paths: list[str], top: int = 15) -> list[tuple[float, str]]:
    """(seconds, test id) of the ``top`` slowest test cases over ``paths``, slowest first."""
    cases = []
    for path in paths:
        for case in ElementTree.parse(path).iter("testcase"):
            name = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
            cases.append((float(case.get("time", 0)), name))
    return sorted(cases, reverse=True)[:top]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.slowest", description=__doc__.split(":")[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args(argv)
    cases = slowest(args.files, args.top)
    print(f"{len(cases)} slowest tests:")
    for seconds, name in cases:
        print(f"{seconds:9.2f}s  {name}")


if __name__ == "__main__":
    main()
