"""The file_operations tools (reading, writing, scanning, converting and compressing files): each tool's spec, how a task words a
step that uses it, how often the walk takes it, and what the simulator does for it beyond the generic
checks. Registered in ``toolkit/__init__.py``. Pure: no I/O; randomness only from the rng it is given.
"""

from __future__ import annotations

from typing import Any

from ..domains import _FORMATS as _SOURCE_FORMATS
from .base import Tool, _a, _Data, _Say
from .spec import _FORMATS, _RESULTS, Param, _data, _lit, _tool

# How this category's settings are said in words.
_WRITE_MODES = {"overwrite": "replacing any file already there", "append": "appending to the file already there",
                "create": "as a new file, never over an existing one"}

# --------------------------------------------------------------------------- simulator

# Record counts of what the tools that start a chain find (a source file, a directory).
_SOURCE_RECORDS = {"file_operations_reader": (20, 5000), "file_operations_scanner": (1, 40)}


def _source_records(sim: Any, args: Any, main: Any, rng: Any, summary: dict[str, Any]) -> int:
    return rng.randint(*_SOURCE_RECORDS["file_operations_reader"])


def _scanned_records(sim: Any, args: Any, main: Any, rng: Any, summary: dict[str, Any]) -> int:
    return rng.randint(*_SOURCE_RECORDS["file_operations_scanner"])


def _source_fields(sim: Any, args: Any, main: Any, fields: Any, extra: Any) -> tuple[Any, str | None]:
    """The task's source data, in the source's format."""
    return sim.fields, sim.source_format


def _converter_fields(sim: Any, args: Any, main: Any, fields: Any, extra: Any) -> tuple[Any, str | None]:
    return fields, extra.get("format")


def _converter_summary(sim: Any, args: Any, main: Any, inputs: Any, extra: Any, records: int, rng: Any,
                       summary: dict[str, Any]) -> int | None:
    summary["output_format"] = extra.get("format")
    return None

# --------------------------------------------------------------------------- reader

_READER_SPEC = _tool(
    "file_operations", "reader",
    "Reads a file from storage.",
    (
        _data("path", ("file_list",), "File to read", literal="source_path"),
        Param("encoding", "string", "Text encoding (default utf-8).", required=False,
              enum=("utf-8", "utf-16", "latin-1", "ascii")),
    ),
    "raw", (("bytes_read", "integer"),),
    ("load a file kept on disk", "open an export or ledger from storage", "read what a job left on the drive"),
)


def _say_reader(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r, subj = g.rng, g.subject
    d = _Data("raw", list(g.src.fields), dict(g.src.ranges), dict(g.src.values), g.source_format)
    if "path" in ins:
        return _Say({}, r.choice(("read the file the scan listed", "read the listed file")), "", "the listed file",
                    f"the {subj}"), d
    return _Say({}, r.choice(("read the source file", "read the file at the source path")), "", "the source file",
                f"the {subj}"), d


READER = Tool(
    spec=_READER_SPEC,
    say=_say_reader,
    ref="the file's content",
    hard=(
        "[open the {subject} kept|open up the {subject} kept] at the source path",
        "[load the {subject}|load up the {subject}] from the file at the source path",
        "[read in the {subject}|read the {subject}] an earlier job left at the source path",
        "[open|load|read] the {subject} [kept|stored|left] at the source path [on disk|in storage|by an earlier job]",
    ),
    very_hard=(
        "the {subject} [loaded from the file|read in from the file] kept on disk at the source path",
        "the {subject} [opened from storage|taken from storage] at the source path",
        "the {subject} [read|loaded|opened] from the file at the source path [on disk|in storage|left by an earlier job]",
    ),
    fed_hard=(
        "[open the file the scan listed|open the file that the scan listed]",
        "load the listed file from the folder",
        "read in the file that the listing found",
        "[open|load|read in] the [file|export] [that|which] the [scan|listing] [listed|found]",
    ),
    fed_very_hard=(
        "the listed file loaded from the folder",
        "the file the listing found, opened",
        "the [file|export] the [scan|listing] [listed|found], [read|loaded|opened]",
    ),
    source=True,
    weight=3.0,
    records=_source_records,
    output_fields=_source_fields,
    extras={"bytes_read": lambda r, n: n * r.randint(40, 400)},
)

# --------------------------------------------------------------------------- writer

_WRITER_SPEC = _tool(
    "file_operations", "writer",
    "Writes a dataset to a file in the format its extension names.",
    (
        _data("input", _RESULTS + ("raw",), "Dataset to write"),
        _lit("path", "output_path", "Destination path"),
        Param("mode", "string", "What to do if the file exists (default overwrite).", required=False,
              enum=("overwrite", "append", "create")),
    ),
    "file", (("bytes_written", "integer"),),
    ("save results to a file", "leave a copy where others can find it", "persist the output for later"),
)


def _say_writer(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r, main = g.rng, ins.get("input") or ins.get("path")
    ext = main.fmt if main.type == "raw" and main.fmt else r.choice(("csv", "json")) if main.type in ("records", "summary") else "json"
    if "output_path" not in g.inputs:
        g.inputs["output_path"] = g.make_literal("output_path", ext)
    mode = r.choice(("overwrite", "append", "create"))
    how = _WRITE_MODES[mode]
    return _Say({"mode": mode}, f"write {src} to the output path, {how}", f", {how}", f"the output path, {how}", ""), \
        _Data("file")


WRITER = Tool(
    spec=_WRITER_SPEC,
    say=_say_writer,
    ref="the saved file",
    hard=(
        "save {src} to a file at the output path{d}",
        "leave a copy at the output path [where others can find it|where the team can find it]{d}",
        "persist {src} at the output path [for later use|for use later]{d}",
        "leave a copy of {src} at the output path [where others can find it|where the team can find it]{d}",
        "store {src} as a file at the output path{d}",
        "[save|store|persist] {src} [to|as] a file at the output path [for later use|where others can find it|for the team]{d}",
    ),
    very_hard=(
        "{src} saved as results to a file at the output path{d}",
        "a copy of {src} left [where others can find it|where the team can find it], at the output path{d}",
        "{src} [saved|stored|kept] as a file at the output path [for later use|where others can find it|for the team]{d}",
        "[a file|a saved copy|a copy on disk] at the output path [holding|with|containing] {src} [for later use|for the team|where others can find it]{d}",
    ),
    checked=("mode",),
    surfaces={"mode": lambda v: [(_WRITE_MODES[v].lower(),)]},
    destinations=("saved as a file at the output path", "saved where others can find the result"),
    weight=1.5,
    pass_through=True,
    extras={"bytes_written": lambda r, n: n * r.randint(40, 400)},
)

# --------------------------------------------------------------------------- scanner

_SCANNER_SPEC = _tool(
    "file_operations", "scanner",
    "Lists the files under a directory that match a glob pattern.",
    (
        _lit("directory", "source_directory", "Directory to scan"),
        Param("pattern", "string", "Glob pattern (default '*').", required=False),
        Param("recursive", "boolean", "Descend into subdirectories.", required=False),
    ),
    "file_list", (("total_bytes", "integer"),),
    ("find which files arrived in a folder", "take stock of a drop zone", "list the uploads waiting to be processed"),
)


def _say_scanner(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    d = _Data("file_list", [], {}, {}, None)
    args = {"pattern": f"*.{g.source_format}"}
    return _Say(args, f"list the {g.source_format.upper()} files in the source directory", "",
                f"*.{g.source_format} files in the source directory", "an inventory of the newly arrived files"), d


SCANNER = Tool(
    spec=_SCANNER_SPEC,
    say=_say_scanner,
    ref="the file list",
    hard=(
        "[find which|find out which|check which] {fmt} files [arrived in|have arrived in|landed in] the source folder",
        "list the {fmt} uploads that are [waiting in|waiting to be processed in] the source folder",
        "[take stock of|take an inventory of] the {fmt} uploads in the source directory",
        "[list|find|take stock of] the {fmt} [files|uploads] [waiting|that arrived|now sitting] in the source [directory|folder]",
    ),
    very_hard=(
        "the {fmt} uploads [waiting in|waiting to be processed in] the source folder listed",
        "stock taken of the {fmt} files that [arrived in|have arrived in|landed in] the source directory",
        "the {fmt} files [that arrived|now waiting] in the source directory, [listed|found and listed]",
        "[a list|an inventory] of the {fmt} [files|uploads] in the source [directory|folder]",
        "the {fmt} [uploads|files] [that arrived|waiting] in the source [directory|folder], [taken stock of|counted and listed|found]",
    ),
    checked=("pattern",),
    surfaces={"pattern": lambda v: [(str(v).lower().lstrip("*."),)]},
    source=True,
    records=_scanned_records,
    extras={"total_bytes": lambda r, n: n * r.randint(2_000, 2_000_000)},
)

# --------------------------------------------------------------------------- converter

_CONVERTER_SPEC = _tool(
    "file_operations", "converter",
    "Converts raw content from its format to another, keeping every record.",
    (
        _data("input", ("raw",), "Content to convert"),
        Param("target_format", "string", "Format to convert to; must differ from the input's.",
              enum=_FORMATS, check="other_format"),
    ),
    "raw", (("output_format", "string"),),
    ("change a file's format", "make legacy files usable by a newer system", "switch content to an open standard"),
)


def _say_converter(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r, main, subj = g.rng, ins.get("input") or ins.get("path"), g.subject
    target = r.choice([f for f in _SOURCE_FORMATS if f != main.fmt])
    return _Say({"target_format": target}, f"convert {src} to {target.upper()}", target.upper(), f"to {target}",
                f"{_a(target.upper())} copy of the {subj}"), main.copy(fmt=target)


CONVERTER = Tool(
    spec=_CONVERTER_SPEC,
    say=_say_converter,
    ref="the converted content",
    hard=(
        "switch [the content's format|the format of the content] over to {d}",
        "[change the format of|change over the format of] the content to {d} [so a newer system can use it|for a newer system]",
        "[make the legacy content usable as|turn the legacy content into] {d}",
        "[change the format of|change over the format of] {src} to {d}",
        "make {src} [usable by a newer system as|usable for a newer system as] {d}",
        "switch {src} to [the open standard|the open format] {d}",
        "[change the format of|change over the format of] {src} to {d} [so a newer system can use it|for a newer system]",
        "re-encode {src} in the [open standard|open format] {d} [so a newer system can use it|for a newer system]",
        "[switch|change] the format of {src} [over to|to] {d} [so a newer system can use it|for a newer system|as an open standard]",
    ),
    very_hard=(
        "{src} [switched to|moved over to] [the open standard|the open format] {d}",
        "[the format of {src} changed to|{src} re-encoded as] {d}",
        "{src} made usable [by|for] a newer system as {d}",
        "a version of {src} [in|converted to] the [open standard|open format] {d}",
        "{src} [converted|re-encoded|switched] to {d} [for a newer system|as an open standard|so a newer system can use it]",
    ),
    checked=("target_format",),
    weight=1.0,
    pass_through=True,
    summary=_converter_summary,
    output_fields=_converter_fields,
)

# --------------------------------------------------------------------------- compressor

_COMPRESSOR_SPEC = _tool(
    "file_operations", "compressor",
    "Compresses a written file into an archive.",
    (
        _data("input", ("file",), "File to compress"),
        Param("algorithm", "string", "Compression algorithm (default gzip).", required=False,
              enum=("gzip", "zip", "bzip2", "zstd")),
        Param("level", "integer", "Compression level, 1 (fast) to 9 (small).", required=False, minimum=1, maximum=9),
    ),
    "archive", (("ratio", "number"),),
    ("shrink a file for storage or email", "pack results tightly for archiving", "cut the size of a bundle"),
)


def _say_compressor(g: Any, ins: dict[str, _Data], src: str) -> tuple[_Say, _Data]:
    r = g.rng
    alg = r.choice(("gzip", "zip", "zstd", "bzip2"))
    return _Say({"algorithm": alg}, f"compress the saved file with {alg}", alg, alg, ""), _Data("archive")


COMPRESSOR = Tool(
    spec=_COMPRESSOR_SPEC,
    say=_say_compressor,
    ref="the archive",
    hard=(
        "shrink {src} [for storage|for keeping] with {d}",
        "[pack {src} tightly|pack {src} down] [for archiving|for the archive], using {d}",
        "[cut the size of|reduce the size of] {src} with {d}",
        "shrink [the saved file|the written file] [for storage|for keeping] with {d}",
        "[cut the size of|reduce the size of] [the saved file|the written file] with {d}",
        "[shrink|pack|squeeze] {src} [for storage|for archiving|to cut its size] with {d}",
    ),
    very_hard=(
        "{src} shrunk [for storage|for keeping] with {d}",
        "{src} [packed tightly|packed down] [for archiving|for the archive] with {d}",
        "{src} [shrunk|packed|squeezed] [for storage|for archiving|to cut its size] with {d}",
        "[a compressed archive|a packed copy|a smaller archive] of {src} [for storage|for archiving|to save space], [made|packed] with {d}",
    ),
    checked=("algorithm",),
    destinations=("saved and packed into a compressed archive", "archived in compressed form"),
    weight=0.8,
    pass_through=True,
    extras={"ratio": lambda r, n: round(r.uniform(0.1, 0.6), 3)},
)

TOOLS: tuple[Tool, ...] = (READER, WRITER, SCANNER, CONVERTER, COMPRESSOR)
