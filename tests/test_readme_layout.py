"""README's Layout section names every module of the tree, and nothing that is not there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "pilotbench"


def _layout_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Layout\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```", 2)[1]


def _entries(block: str) -> dict[str, str]:
    """Each package entry ("  store/   ...", continued on more-indented lines) -> its text."""
    out: dict[str, str] = {}
    current = None
    for line in block.splitlines():
        m = re.match(r"^  ([a-z_]+)/\s", line)
        if m:
            current = m.group(1)
            out[current] = line[m.end():]
        elif current and line.startswith("    "):
            out[current] += " " + line.strip()
        else:
            current = None
    return out


def _modules(package: Path) -> set[str]:
    """The package's modules and subpackages by name (no __init__/__main__)."""
    names = {p.stem for p in package.glob("*.py") if p.stem not in ("__init__", "__main__")}
    names |= {p.name for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    return names


def test_every_package_entry_names_each_of_its_modules() -> None:
    entries = _entries(_layout_block())
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert set(entries) == packages
    missing = {}
    for name, text in entries.items():
        words = set(re.findall(r"[a-z_]+", text))
        absent = sorted(m for m in _modules(SRC / name) if m not in words)
        if absent:
            missing[name] = absent
        for sub in (SRC / name).iterdir():  # a subpackage's modules are named too (toolkit/, simulated/, ...)
            if sub.is_dir() and (sub / "__init__.py").exists():
                gone = sorted(m for m in _modules(sub) if m not in words)
                if gone:
                    missing[f"{name}/{sub.name}"] = gone
    assert missing == {}


def test_every_top_level_module_is_named_and_every_named_file_exists() -> None:
    block = _layout_block()
    named = set(re.findall(r"\b([a-z_]+)\.py\b", block))
    top = {p.stem for p in SRC.glob("*.py") if p.stem not in ("__init__", "__main__")}
    assert named == top
    for pkg in re.findall(r"\b([a-z_]+)/", block):
        assert pkg in ("src", "pilotbench") or any(p.is_dir() for p in SRC.rglob(pkg)), pkg
