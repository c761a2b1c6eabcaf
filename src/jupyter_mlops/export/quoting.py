"""Values from file names, parameters and options, made safe for the files an export writes.

A notebook can be called anything a filesystem allows (newlines and quotes included), a
parameter's default can hold any text, and options come from a command line or from the
server's export route. None of them may change what a generated file does: each value is
quoted for the place it goes, or refused when no quoting can make it mean what it says.

    one_line("churn\\nRUN curl evil")    # 'churn?RUN curl evil': a comment stays one line
    docstring_text('say "hi"')           # 'say \\"hi\\"': a docstring cannot be closed early
    image_name("Churn Model (v2)")       # 'churn-model-v2-pipeline': one word in a shell
    check_image_reference("python:3.11-slim", option="--base-image")   # returned as it is
"""

from __future__ import annotations

import re

from ..errors import ExportError

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")
# A container image reference: [registry[:port]/]path[:tag][@digest], lowercase path parts.
_IMAGE_REFERENCE = re.compile(
    # a registry host: localhost, a dotted name, or any name with a port
    r"^(?:(?:localhost|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|[A-Za-z0-9-]+(?=:[0-9]+/))"
    r"(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"  # first path component
    r"(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"  # more path components
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"  # tag
    r"(?:@sha256:[0-9a-f]{64})?$"  # digest
)
_MAX_IMAGE_REFERENCE = 255


def one_line(text: object) -> str:
    """``text`` on one line: control characters (newlines included) become ``?``."""
    return _CONTROL.sub("?", str(text))


def docstring_text(text: object) -> str:
    """``text`` for a line inside a generated ``\"\"\"`` docstring: on one line, with
    backslashes and double quotes escaped, so it can neither close the docstring nor
    start an escape sequence."""
    return one_line(text).replace("\\", "\\\\").replace('"', '\\"')


def markdown_code(text: object) -> str:
    """``text`` as an inline code span in Markdown, whatever backticks it holds."""
    shown = one_line(text)
    longest = max((len(run) for run in re.findall(r"`+", shown)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if shown.startswith("`") or shown.endswith("`") else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def image_name(name: object) -> str:
    """A container image name made from a pipeline's name: lowercase letters, digits and
    single dashes, so that it is a valid reference and a single word in a shell."""
    slug = re.sub(r"[^a-z0-9]+", "-", one_line(name).lower()).strip("-")
    return f"{slug or 'pipeline'}-pipeline"


def check_image_reference(reference: object, *, option: str) -> str:
    """``reference`` when it is a container image reference, else an :class:`ExportError`
    naming ``option``: it goes into a Dockerfile line and a KFP spec as it is."""
    text = str(reference)
    if len(text) > _MAX_IMAGE_REFERENCE or not _IMAGE_REFERENCE.match(text):
        raise ExportError(
            f"{option} {one_line(text)[:80]!r} is not a container image reference",
            hint="Give an image such as python:3.11-slim, registry.example.com:5000/team/"
            "base:1.2 or name@sha256:<digest> (no spaces, quotes or new lines).",
        )
    return text
