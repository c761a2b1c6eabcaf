"""The container files of a pipeline: Dockerfile, .dockerignore, README.md and
``wheels/README.md``.

The image installs the pinned lock, then ``jupyter-mlops==<the exporter's version>``,
its core only (no extras, so no Jupyter package), with ``pip --find-links wheels/``: a
wheel placed in ``wheels/`` is used, otherwise the package index's. The lock already
holds the core's requirements, so that install adds jupyter-mlops alone. The image
copies only ``pipeline.json``, ``steps/`` and ``references/``, and runs as an
unprivileged user. The base image is a build argument so that a registry mirror or a
locally built stand-in can replace it:

    podman build --build-arg BASE_IMAGE=localhost/python:3.11 -t churn ./churn-pipeline
    podman run --rm -v "$PWD/data:/work" churn -p lr=0.5
"""

from __future__ import annotations

import sys
import textwrap

from ..runner.spec import PipelineSpec
from .quoting import check_image_reference, image_name, markdown_code, one_line

WORKDIR_IN_IMAGE = "/work"
PIPELINE_IN_IMAGE = "/pipeline"


def default_base_image() -> str:
    """``python:3.X-slim`` for the Python the lock was made with."""
    return f"python:{sys.version_info.major}.{sys.version_info.minor}-slim"


def dockerfile_text(
    spec: PipelineSpec, *, version: str, base_image: str, references: bool = False
) -> str:
    """The Dockerfile (hadolint-clean; see the inline comments for the choices).

    ``version``: the jupyter-mlops the image installs (the one that wrote the steps).
    ``references``: the pipeline directory has drift references to copy in.
    """
    image = image_name(spec.name)
    base_image = check_image_reference(base_image, option="base_image")
    copy_references = "COPY references/ ./references/\n" if references else ""
    return f"""\
# Pipeline "{one_line(spec.name)}", exported by jupyter-mlops from {one_line(spec.source.notebook)}.
# Build:  podman build -t {image} .    (or docker build)
# Run:    podman run --rm -v "$PWD:{WORKDIR_IN_IMAGE}" {image} [-p name=value] [--from STEP]
# Steps read and write files relative to {WORKDIR_IN_IMAGE}; the registry (.mlops/) is kept there
# (mount the project's folder to record into its registry; uid 10001 must be able to write it).
ARG BASE_IMAGE={base_image}
FROM ${{BASE_IMAGE}}

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR {PIPELINE_IN_IMAGE}

{
        install_layers(
            version,
            locked="what the notebook imports and what the jupyter-mlops core requires",
            core="The jupyter-mlops core and runner (no extras: no Jupyter package)",
        )
    } \\
    && useradd --no-log-init --create-home --uid 10001 mlops \\
    && mkdir -p {WORKDIR_IN_IMAGE} \\
    && chown mlops {WORKDIR_IN_IMAGE}

COPY pipeline.json ./
COPY steps/ ./steps/
{copy_references}
# The unprivileged user created above, by its uid so any runtime can resolve it.
USER 10001
WORKDIR {WORKDIR_IN_IMAGE}
ENTRYPOINT ["python", "-m", "jupyter_mlops.runner", "{PIPELINE_IN_IMAGE}"]
CMD []
"""


def install_layers(version: str, *, locked: str, core: str, also: tuple[str, ...] = ()) -> str:
    """The layers pipeline images and reproduction images share: the pinned
    ``requirements.lock`` installed first (its layer is kept while the lock does not
    change), then ``jupyter-mlops==version`` from a wheel in ``wheels/`` or the index, with
    the requirements ``also`` (unpinned: those the lock does not hold). ``locked`` says what
    the lock pins, ``core`` what the jupyter-mlops install is for; the last line has no
    newline, so a caller can continue its command."""
    extra = "".join(f' "{requirement}"' for requirement in also)
    return f"""\
{_comment(f"Every package is pinned in requirements.lock ({locked}).")}
COPY requirements.lock ./
RUN python -m pip install --no-cache-dir -r requirements.lock

{_comment(f"{core}, from a wheel put in wheels/ if there is one, else from the package index.")}
COPY wheels/ ./wheels/
RUN python -m pip install --no-cache-dir --find-links ./wheels "jupyter-mlops=={version}"{extra}"""


def _comment(text: str) -> str:
    return textwrap.fill(text, width=90, initial_indent="# ", subsequent_indent="# ")


def dockerignore_text() -> str:
    """Send only what the image needs to the build."""
    return (
        "# Only these go into the image build context.\n"
        "*\n"
        "!pipeline.json\n"
        "!requirements.lock\n"
        "!steps/\n"
        "!references/\n"
        "!wheels/\n"
        "**/__pycache__\n"
        "**/*.pyc\n"
    )


def readme_text(spec: PipelineSpec, *, targets: tuple[str, ...]) -> str:
    """A README for the pipeline directory: steps, parameters, and how to run it."""
    lines = [
        f"# Pipeline {markdown_code(spec.name)}",
        "",
        f"Exported by jupyter-mlops from {markdown_code(spec.source.notebook)}."
        " Do not edit the steps by hand:",
        "change the notebook and export it again.",
        "",
        "## Steps",
        "",
        "| step | cells | reads | after | gate |",
        "| --- | --- | --- | --- | --- |",
    ]
    for step in spec.steps:
        reads = ", ".join(f"`{i.name}` ({i.from_step})" for i in step.inputs) or "-"
        cells = ", ".join(str(c + 1) for c in step.cells)
        after = ", ".join(step.depends_on) or "-"
        gate = "yes: " + "; ".join(f"`{c}`" for c in step.gate_conditions) if step.gate else ""
        lines.append(f"| `{step.name}` | {cells} | {reads} | {after} | {gate} |")
    lines += ["", "## Parameters", ""]
    if spec.parameters:
        lines += ["| name | type | default |", "| --- | --- | --- |"]
        lines += [
            f"| `{p.name}` | {p.type} | {markdown_code(repr(p.default)).replace('|', '&#124;')} |"
            for p in spec.parameters
        ]
    else:
        lines.append("None.")
    lines += [
        "",
        "## Run",
        "",
        "```sh",
        "jupyter mlops pipeline run . -p name=value        # or: python -m jupyter_mlops.runner .",
        "jupyter mlops pipeline run . --from STEP          # restart at a step",
        "```",
        "",
        "Steps whose code, parameters and input bytes did not change are skipped.",
        "Values between steps are stored in the registry's artifact store (`.mlops/artifacts`).",
    ]
    if "docker" in targets:
        name = image_name(spec.name)
        lines += [
            "",
            "In a container (only `requirements.lock` and the jupyter-mlops core are installed):",
            "",
            "```sh",
            f"podman build -t {name} .",
            f'podman run --rm -v "$PWD/..:{WORKDIR_IN_IMAGE}" {name} -p name=value',
            "```",
            "",
            f"The image installs `jupyter-mlops=={spec.exporter_version}` (its core) from a wheel",
            "of that version placed in `wheels/` (`jupyter mlops export --wheel FILE` puts one",
            "there), otherwise from the package index.",
        ]
    if "kfp" in targets:
        lines += [
            "",
            "On Kubeflow Pipelines: upload `kfp/pipeline.yaml` (built from `kfp/pipeline.py`).",
            "Push the image above and pass its name when exporting (`--image`). Each task",
            "leaves its records as its `mlops_records` artifact: download the run's outputs",
            "and merge them into your registry with `jupyter mlops pipeline collect DIR`.",
        ]
    return "\n".join(lines) + "\n"


def wheels_readme_text(version: str) -> str:
    """What ``wheels/`` is for; it also makes the folder exist for the Dockerfile's COPY."""
    return (
        "# wheels/\n"
        "\n"
        f"The image installs `jupyter-mlops=={version}` (its core, no extras) with\n"
        "`pip install --find-links ./wheels`: a wheel of that version placed here is used,\n"
        "otherwise the one on the package index. `jupyter mlops export --wheel FILE` copies\n"
        "one here; a new export leaves the wheels here alone.\n"
    )
