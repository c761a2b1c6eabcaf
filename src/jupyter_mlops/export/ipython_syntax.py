"""Turn the IPython syntax of a notebook cell into plain Python, or refuse it clearly.

Exported step code runs in a bare Python process with no IPython, so every line
magic, cell magic and ``!shell`` line is translated, dropped or refused here:

==============================  ====================================================
in the notebook                 in the pipeline
==============================  ====================================================
``%load_ext``, ``%matplotlib``,  dropped (they only shape the interactive session)
``%config``, ``%autoreload`` ...
``%time X`` / ``%timeit X``     ``X``, run once
``%%time``, ``%%timeit``,       the cell body, run once
``%%capture``
``%env NAME=value``             ``os.environ["NAME"] = "value"``
``%%mlops run ...``             the body (the runner tracks each step as a run)
``%mlops log a=1 b=2``,         the step API's call, read by the magic's own parser
``snapshot``, ``register``,     (see :mod:`.magic_calls`)
``tag``, ``drift``, ``gate``...
``%mlops runs/show/...``        dropped, named in the export's warnings
``!cmd {x}``                    ``mlops_shell(f"cmd {x}")`` (fails the step on error)
``%%bash`` / ``%%sh``           ``mlops_shell("body")``
``%pip``, ``!pip``, ``%conda``  ExportError: put the package in the environment
``x = !cmd``, ``%run``, ``%cd``, ExportError naming the cell and the line
other magics
==============================  ====================================================

Lines keep their positions (a dropped line becomes a comment) so that line numbers
in errors still match the cell.

    translate_cell("%matplotlib inline\\nx = 1", cell_index=3).source
    # '# %matplotlib inline  (dropped)\\nx = 1'
"""

from __future__ import annotations

import ast
import re
import shlex
from collections.abc import Collection
from dataclasses import dataclass

from ..errors import ExportError
from .magic_calls import mlops_line_call

# Names the step runtime provides when translated code needs them.
RUNTIME_NAMES = frozenset(
    {"mlops", "mlops_shell", "display", "mlops_gate_check", "mlops_drift_check"}
)

_DROPPED_LINE_MAGICS = frozenset(
    {
        "load_ext", "reload_ext", "unload_ext", "matplotlib", "config", "autoreload",
        "aimport", "precision", "pprint", "xmode", "who", "whos", "who_ls", "history",
        "lsmagic", "magic", "colors", "pdb", "debug", "tb", "notebook", "qtconsole",
        "autosave", "autocall", "automagic", "page", "pinfo", "pinfo2", "psearch",
    }
)  # fmt: skip
_TIMING_LINE_MAGICS = frozenset({"time", "timeit", "prun"})
_BODY_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})
_SHELL_CELL_MAGICS = frozenset({"bash", "sh", "script"})
_PACKAGE_MANAGERS = re.compile(
    r"^\s*(?:\{[^}]*\}\s+-m\s+|python3?\s+-m\s+|uv\s+|mamba\s+|micromamba\s+)?(pip3?|conda|mamba)\b"
)
_ASSIGNED_MAGIC = re.compile(r"^\s*[\w.,\s\[\]()*]+?\s*=\s*[%!]")


@dataclass(frozen=True)
class TranslatedCell:
    """A cell's source as plain Python, with notes on what was changed."""

    source: str
    notes: tuple[str, ...] = ()
    mlops_calls: tuple[str, ...] = ()

    @property
    def left_out(self) -> tuple[str, ...]:
        """What the pipeline will not do that the cell did, each naming its cell and line."""
        return tuple(note for note in self.notes if note.startswith("Cell "))


def translate_cell(
    source: str, *, cell_index: int, defined: Collection[str] | None = None
) -> TranslatedCell:
    """Translate IPython syntax in ``source`` (see the module docstring for the table).

    Example::

        translate_cell("%mlops log acc=0.9", cell_index=0).source   # 'mlops.log(acc=0.9)'
    """
    lines = source.splitlines()
    if not lines:
        return TranslatedCell("")
    notes: list[str] = []
    first = lines[0].strip()
    if first.startswith("%%"):
        return _translate_cell_magic(
            first, lines[1:], cell_index=cell_index, notes=notes, defined=defined
        )
    out: list[str] = []
    calls: list[str] = []
    for number, line in enumerate(lines, start=1):
        out.append(_translate_line(line, cell_index, number, notes, calls, defined))
    return TranslatedCell("\n".join(out), tuple(notes), tuple(calls))


def _translate_cell_magic(
    first: str,
    body: list[str],
    *,
    cell_index: int,
    notes: list[str],
    defined: Collection[str] | None,
) -> TranslatedCell:
    name, _, rest = first[2:].partition(" ")
    where = _where(cell_index, 1)
    inner = "\n".join(body)
    if name == "mlops":
        sub = rest.split()[0] if rest.split() else ""
        if sub != "run":
            raise ExportError(
                f"{where}: `%%mlops {sub}` has no meaning in a pipeline",
                cell_index=cell_index,
                hint="Use `%%mlops run NAME` or plain Python; each step is tracked as a run.",
            )
        notes.append("%%mlops run: the body is kept; the runner tracks each step as a run")
        translated = translate_cell(inner, cell_index=cell_index, defined=defined)
        return TranslatedCell(
            f"# {first}  (kept as a step run)\n" + translated.source,
            tuple(notes) + translated.notes,
            translated.mlops_calls,
        )
    if name in _BODY_CELL_MAGICS:
        if name == "capture" and rest.strip() and not rest.strip().startswith("-"):
            raise ExportError(
                f"{where}: `%%capture {rest.strip()}` stores output in a variable, which a"
                " pipeline cannot reproduce",
                cell_index=cell_index,
                hint="Drop the variable name or tag the cell `skip`.",
            )
        translated = translate_cell(inner, cell_index=cell_index, defined=defined)
        return TranslatedCell(
            f"# {first}  (dropped; the body runs once)\n" + translated.source,
            translated.notes,
            translated.mlops_calls,
        )
    if name in _SHELL_CELL_MAGICS:
        script = inner if name != "script" else inner
        if _PACKAGE_MANAGERS.search(script.lstrip()):
            raise _package_error(where, cell_index, script.strip().splitlines()[0])
        return TranslatedCell(
            f"# {first}\nmlops_shell({script!r})",
            (f"%%{name} runs as a shell script",),
        )
    if name == "writefile":
        args = shlex.split(rest)
        append = "-a" in args or "--append" in args
        paths = [a for a in args if not a.startswith("-")]
        if len(paths) != 1:
            raise ExportError(
                f"{where}: `%%writefile` needs exactly one file name", cell_index=cell_index
            )
        mode = "a" if append else "w"
        return TranslatedCell(
            f"# {first}\nwith open({paths[0]!r}, {mode!r}, encoding='utf-8') as _handle:\n"
            f"    _handle.write({(inner + chr(10))!r})",
        )
    raise ExportError(
        f"{where}: the cell magic `%%{name}` cannot run outside IPython",
        cell_index=cell_index,
        hint="Rewrite the cell in plain Python, or tag it `skip` to leave it out of the pipeline.",
    )


def _translate_line(
    line: str,
    cell_index: int,
    number: int,
    notes: list[str],
    calls: list[str],
    defined: Collection[str] | None,
) -> str:
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if not stripped.startswith(("%", "!")) or stripped.startswith("!="):
        if _ASSIGNED_MAGIC.match(line) and not _is_python(line):
            raise ExportError(
                f"{_where(cell_index, number)}: assigning the result of a magic or shell"
                f" command (`{stripped}`) cannot be exported",
                cell_index=cell_index,
                hint="Use subprocess.run(..., capture_output=True) or plain Python instead.",
            )
        return line
    where = _where(cell_index, number)
    if stripped.startswith("!"):
        command = stripped[1:].strip()
        if stripped.startswith("!!"):
            command = stripped[2:].strip()
        if _PACKAGE_MANAGERS.match(command):
            raise _package_error(where, cell_index, stripped)
        notes.append(f"line {number}: shell command runs through mlops_shell")
        return f"{indent}mlops_shell({_shell_literal(command)})"
    name, _, rest = stripped[1:].partition(" ")
    rest = rest.strip()
    if name in ("pip", "conda", "mamba", "uv"):
        raise _package_error(where, cell_index, stripped)
    if name in _DROPPED_LINE_MAGICS:
        return f"{indent}# {stripped}  (dropped)"
    if name in _TIMING_LINE_MAGICS:
        statement = _strip_options(rest)
        if not statement:
            return f"{indent}# {stripped}  (dropped)"
        return f"{indent}{statement}"
    if name == "env":
        return indent + _translate_env(rest, where, cell_index)
    if name == "mlops":
        return indent + _translate_mlops(rest, where, cell_index, calls, notes, defined)
    raise ExportError(
        f"{where}: the magic `%{name}` cannot run outside IPython",
        cell_index=cell_index,
        hint="Rewrite the line in plain Python, or tag the cell `skip`.",
    )


def _translate_env(rest: str, where: str, cell_index: int) -> str:
    match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\s*=\s*|\s+)(.*)$", rest)
    if not match:
        return f"# %env {rest}  (dropped: only displays)"
    return f"__import__('os').environ[{match.group(1)!r}] = {match.group(2).strip()!r}"


def _translate_mlops(
    rest: str,
    where: str,
    cell_index: int,
    calls: list[str],
    notes: list[str],
    defined: Collection[str] | None,
) -> str:
    try:
        words = shlex.split(rest, posix=True)
    except ValueError as exc:
        raise ExportError(
            f"{where}: `%mlops {rest}` does not parse ({exc})", cell_index=cell_index
        ) from exc
    if not words:
        return f"# %mlops {rest}  (dropped)"
    code, dropped = mlops_line_call(words, where=where, cell_index=cell_index, defined=defined)
    if dropped is not None:
        notes.append(dropped)
    else:
        calls.append(words[0])
    return code


def _shell_literal(command: str) -> str:
    # IPython expands {expr} and $name; an f-string keeps the expression readable.
    command = re.sub(r"(?<!\$)\$([A-Za-z_][A-Za-z0-9_]*)", r"{\1}", command)
    if "{" in command:
        return "f" + repr(command)
    return repr(command)


def _strip_options(rest: str) -> str:
    words = rest.split()
    while words and words[0].startswith("-"):
        option = words.pop(0)
        if option in ("-n", "-r", "-o", "-T", "-D", "-s") and words:
            words.pop(0)
    if not words:
        return ""
    return rest[rest.index(words[0]) :]


def _is_python(line: str) -> bool:
    try:
        ast.parse(line.strip())
        return True
    except SyntaxError:
        return False


def _package_error(where: str, cell_index: int, line: str) -> ExportError:
    return ExportError(
        f"{where}: `{line.strip()}` installs packages while the notebook runs; a pipeline"
        " cannot do that",
        cell_index=cell_index,
        hint="Install the package in the environment you export from (it then goes into"
        " requirements.lock) and remove the line, or tag the cell `skip`.",
    )


def _where(cell_index: int, line: int) -> str:
    return f"Cell {cell_index + 1}, line {line}"
