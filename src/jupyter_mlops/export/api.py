"""``export_notebook``: a tagged notebook in, a pipeline directory out.

    result = export_notebook("churn.ipynb", "churn-pipeline", targets=("local", "docker"))
    result.steps            # ("prepare", "train", "train_gate", "evaluate")

Everything is generated and checked in memory first; nothing is written when the
notebook cannot become a pipeline. The notebook is never modified, and every path
written (in ``pipeline.json``, the Dockerfile, the README) is relative.

What is written (``targets`` adds to the first four):

==========================  ============================================================
``pipeline.json``           the neutral spec: steps, edges, typed parameters, artifacts,
                            gates, drift checks, code hashes, the source notebook
``steps/*.py``              ``pipeline_setup.py`` and one module per step
``requirements.lock``       pinned distributions the notebook imports (and what they need)
``README.md``               steps, parameters, how to run
``Dockerfile``,             ``docker`` target: an image with the lock and the core only
``.dockerignore``,          (``jupyter-mlops==<this version>`` from ``wheels/`` or the index)
``wheels/README.md``        and the wheel given as ``wheel=``, if any
``references/*.json``      the reference profile of each ``drift:VAR`` check, when the
                            registry has it at export time
``kfp/pipeline.py``,        ``kfp`` target: Kubeflow Pipelines v2, compiled with the kfp SDK
``kfp/pipeline.yaml``
==========================  ============================================================

A notebook written for Kale keeps its settings: the ``kubeflow_notebook`` metadata names
the pipeline, its experiment and its base image, and ``limit:`` tags become the steps'
``resource_limits`` (see :mod:`.kale`). Every tag and metadata field the export does not
use is reported in ``ExportResult.warnings`` with what happens instead.

The notebook's tracked run that the export reflects is recorded in the spec
(``source.exported_from_run_id``, with its experiment): the run given, or by default the
latest run of this notebook in the registry that applies here. The runner compares its
pipeline runs' metrics with that run's (parity) and records them in its experiment.
"""

from __future__ import annotations

import ast
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ExportError
from ..runner.spec import (
    SETUP_MODULE,
    SPEC_FILENAME,
    DriftCheckSpec,
    PipelineSpec,
    SourceSpec,
    StepSpec,
)
from .codegen import setup_module_text, step_module_text
from .container import (
    default_base_image,
    dockerfile_text,
    dockerignore_text,
    readme_text,
    wheels_readme_text,
)
from .determinism import unseeded_calls
from .environment import core_requirements, requirements_lock
from .layout import lay_out
from .notebook_file import nbformat_missing, read_notebook
from .output_dir import checked_wheel, copy_local_modules, prepare_output_dir
from .plan import plan_pipeline
from .quoting import check_image_reference, image_name
from .source_run import AUTO, SourceRun, drift_references, find_source_run

TARGETS = ("local", "docker", "kfp")


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    output_dir: Path
    spec: PipelineSpec
    files: tuple[str, ...]  # relative to output_dir
    targets: tuple[str, ...]
    warnings: tuple[str, ...] = ()

    @property
    def steps(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.spec.steps)

    @property
    def spec_path(self) -> Path:
        return self.output_dir / SPEC_FILENAME


@dataclass(frozen=True)
class PipelineFiles:
    """A pipeline generated in memory: relative path -> bytes."""

    spec: PipelineSpec
    files: dict[str, bytes]
    warnings: tuple[str, ...]


def export_notebook(
    notebook: str | Path | Any,
    output_dir: str | Path | None = None,
    *,
    targets: tuple[str, ...] | list[str] | str = ("local", "docker"),
    live_namespace: Mapping[str, Any] | None = None,
    name: str | None = None,
    run_id: str | None = AUTO,
    registry: Any = None,
    base_image: str | None = None,
    image: str | None = None,
    wheel: str | Path | None = None,
    seed: int | None = None,
) -> ExportResult:
    """Export a tagged notebook (a path or an nbformat node) into ``output_dir``.

    ``output_dir`` defaults to ``<notebook stem>-pipeline`` next to the notebook.
    ``targets`` is any of local, docker, kfp (a comma-separated string works too).
    ``live_namespace`` (the kernel's variables, passed by ``%mlops export``) lets the
    export check the real values passed between steps. ``run_id`` is the tracked run
    of the notebook that the export reflects (an id, id prefix or name), recorded in
    the spec for parity; ``"auto"`` (the default) takes the latest run of this notebook
    in ``registry`` (a Registry or its path; default: the one that applies here), None
    records none. ``image`` is the image the Kubeflow components run, required by the
    kfp target (a reference a cluster can pull; ``"local"``: the local build's tag
    ``<name>-pipeline:latest``, knowingly). ``wheel`` is a jupyter-mlops wheel file of this version
    to copy into ``wheels/``, where the image's ``pip install`` finds it before the
    package index (docker target). ``seed`` (``--seed N``) seeds every step before its code
    runs: Python's ``random``, NumPy's global generator, torch, ``PYTHONHASHSEED``. Calls
    that draw at random with no seed are named in ``warnings`` either way (see
    :mod:`.determinism`) and kept in the spec, for parity to name them.

    Example::

        export_notebook("churn.ipynb", "build/churn", targets="local,kfp")
    """
    chosen = _targets(targets)
    notebook_node, notebook_path = _read_notebook(notebook)
    stem = name or (notebook_path.stem if notebook_path else "notebook")
    if output_dir is None:
        parent = notebook_path.parent if notebook_path else Path.cwd()
        output_dir = parent / f"{stem}-pipeline"
    if name is None:
        stem = _kale_name(notebook_node) or stem
    out = Path(output_dir)
    pipeline = build_pipeline_files(
        notebook_node,
        name=stem,
        notebook_path=notebook_path,
        output_dir=out,
        targets=chosen,
        live_namespace=live_namespace,
        run_id=run_id,
        registry=registry,
        base_image=base_image,
        image=image,
        wheel=wheel,
        seed=seed,
    )
    prepare_output_dir(out)
    for relative, data in sorted(pipeline.files.items()):
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return ExportResult(
        output_dir=out,
        spec=pipeline.spec,
        files=tuple(sorted(pipeline.files)),
        targets=chosen,
        warnings=pipeline.warnings,
    )


def build_pipeline_files(
    notebook: Any,
    *,
    name: str,
    notebook_path: Path | None,
    output_dir: Path,
    targets: tuple[str, ...],
    live_namespace: Mapping[str, Any] | None = None,
    run_id: str | None = AUTO,
    registry: Any = None,
    base_image: str | None = None,
    image: str | None = None,
    wheel: str | Path | None = None,
    seed: int | None = None,
) -> PipelineFiles:
    """Generate and check every file of the pipeline, in memory (see :func:`export_notebook`)."""
    if wheel is not None and "docker" not in targets:
        raise ExportError(
            f"A wheel ({wheel}) was given, but only the docker target installs one",
            hint="Add the docker target (--target local,docker), or leave the wheel out.",
        )
    wheel_path = checked_wheel(Path(wheel), _version()) if wheel is not None else None
    layout = lay_out(notebook)
    if not layout.steps:
        raise ExportError(
            "The notebook has no code to export: every code cell is parameters, setup or skip",
            hint="Tag the cells that do the work step:NAME (or leave them untagged).",
        )
    plan = plan_pipeline(layout, live_namespace=live_namespace)
    seed = _checked_seed(seed)
    unseeded = unseeded_calls(layout)
    warnings: list[str] = [*layout.notes, *layout.kale.notes, *plan.notes]
    warnings.extend(call.describe() for call in unseeded if seed is None or not call.seedable)
    warnings.extend(_silent_metrics(layout))
    if layout.kale.pipeline_name and layout.kale.pipeline_name != name:
        warnings.append(
            f'kubeflow_notebook.pipeline_name "{layout.kale.pipeline_name}" is not used: the'
            f' pipeline is named "{name}", as given'
        )
    source_name = notebook_path.name if notebook_path else f"{name}.ipynb"
    if notebook_path is not None:
        notebook_ref = os.path.relpath(notebook_path.resolve(), output_dir.resolve())
        notebook_sha = hashlib.sha256(notebook_path.read_bytes()).hexdigest()
    else:
        nbformat = _nbformat()
        notebook_ref = source_name
        notebook_sha = hashlib.sha256(nbformat.writes(notebook).encode()).hexdigest()

    files: dict[str, bytes] = {}
    source_run, references = _source(
        notebook_path,
        run_id,
        registry,
        [(step.name, tag) for step in plan.steps for tag in step.draft.drift],
        warnings,
    )
    setup_text = setup_module_text(plan, pipeline=name, notebook=source_name, seed=seed)
    _compile_or_fail(setup_text, f"steps/{SETUP_MODULE}.py", None)
    files[f"steps/{SETUP_MODULE}.py"] = setup_text.encode()
    step_specs: list[StepSpec] = []
    for step in plan.steps:
        code = step_module_text(plan, step, pipeline=name, notebook=source_name, seed=seed)
        _compile_or_fail(code.text, f"steps/{code.module}.py", step.name)
        files[f"steps/{code.module}.py"] = code.text.encode()
        step_specs.append(
            StepSpec(
                name=step.name,
                module=code.module,
                code_sha256=code.sha256,
                cells=tuple(c.index for c in step.draft.cells),
                inputs=step.inputs,
                outputs=step.outputs,
                parameters=step.parameters,
                depends_on=step.depends_on,
                after=tuple(dict.fromkeys(t for t, _ in step.draft.after)),
                gate=step.draft.gate,
                reads_pipeline_run=step.draft.gate or code.calls_check,
                gate_conditions=code.gate_conditions,
                metrics=code.metrics,
                drift_checks=tuple(
                    _drift_spec(step.name, tag, references, files) for tag in step.draft.drift
                ),
                file_hints=step.names.path_literals,
                timeout_s=step.draft.timeout,
                resource_limits=dict(step.draft.limits),
            )
        )
    local = copy_local_modules(plan.imported_modules, notebook_path, files, warnings)
    core = core_requirements()
    if core is None:
        warnings.append(
            "jupyter-mlops is not installed here (only importable), so requirements.lock does"
            " not pin its requirements: install it (pip install -e .) and export again"
        )
    lock = requirements_lock(set(plan.imported_modules), local=local, runtime=core or ())
    warnings.extend(
        f'"{module}" is imported but not installed here; add it to requirements.lock by hand'
        for module in lock.unresolved
    )
    files["requirements.lock"] = lock.text.encode()
    experiment = _experiment(source_run, layout.kale.experiment_name, warnings)
    if layout.kale.docker_image:
        if base_image is None and "docker" in targets:
            base_image = check_image_reference(layout.kale.docker_image, option="docker_image")
            warnings.append(
                f'kubeflow_notebook.docker_image "{base_image}" is the base image of the'
                " Dockerfile, which installs requirements.lock and jupyter-mlops on it"
            )
        elif base_image is None:
            warnings.append(
                f'kubeflow_notebook.docker_image "{layout.kale.docker_image}" is used only by'
                " the docker target (as the Dockerfile's base image); add --target docker"
            )
        else:
            warnings.append(
                f'kubeflow_notebook.docker_image "{layout.kale.docker_image}" is not used: the'
                f' base image given, "{base_image}", is'
            )
    spec = PipelineSpec(
        name=name,
        source=SourceSpec(
            notebook_ref,
            notebook_sha,
            source_run.id if source_run else None,
            experiment,
        ),
        parameters=plan.parameters,
        steps=tuple(step_specs),
        edges=plan.edges,
        artifacts=plan.artifacts,
        setup_sha256=hashlib.sha256(setup_text.encode()).hexdigest(),
        exporter_version=_version(),
        seed=seed,
        unseeded_calls=unseeded,
    )
    if "docker" in targets:
        if wheel_path is not None:
            files[f"wheels/{wheel_path.name}"] = wheel_path.read_bytes()
        files["wheels/README.md"] = wheels_readme_text(spec.exporter_version).encode()
        files["Dockerfile"] = dockerfile_text(
            spec,
            version=spec.exporter_version,
            base_image=base_image or default_base_image(),
            references=any(path.startswith("references/") for path in files),
        ).encode()
        files[".dockerignore"] = dockerignore_text().encode()
    if "kfp" in targets:
        from .kfp_target import compile_kfp_pipeline, kfp_pipeline_source

        kfp_image = _kfp_image(image, name, warnings)
        registers = tuple(s.name for s in step_specs if b"register_model(" in files[s.module_path])
        kfp_source = kfp_pipeline_source(spec, image=kfp_image, registers_models=registers)
        files["kfp/pipeline.py"] = kfp_source.encode()
        files["kfp/pipeline.yaml"] = compile_kfp_pipeline(kfp_source).encode()
    files["README.md"] = readme_text(spec, targets=targets).encode()
    files[SPEC_FILENAME] = spec.to_json().encode()
    return PipelineFiles(spec, files, tuple(warnings))


def _kale_name(notebook: Any) -> str | None:
    """The pipeline name a Kale notebook's metadata gives, if any."""
    from .kale import kale_settings

    metadata = notebook.get("metadata") if hasattr(notebook, "get") else None
    return kale_settings(metadata).pipeline_name


def _experiment(
    source_run: SourceRun | None, kale_experiment: str | None, warnings: list[str]
) -> str | None:
    """Where pipeline runs are recorded: the notebook run's experiment, else the one the
    Kale metadata names."""
    if source_run is not None and source_run.experiment:
        if kale_experiment and kale_experiment != source_run.experiment:
            warnings.append(
                f'kubeflow_notebook.experiment_name "{kale_experiment}" is not used: pipeline'
                f' runs are recorded in "{source_run.experiment}", the experiment of the'
                f" notebook run {source_run.id} they are compared with"
            )
        return source_run.experiment
    return kale_experiment


def _silent_metrics(layout: Any) -> list[str]:
    """Lines of metrics cells that look like they report a value but log nothing."""
    from ..tracking.metrics_cells import silent_lines

    notes = []
    for step in layout.steps:
        for cell in step.cells:
            if cell.index not in step.metrics_cells:
                continue
            for statement in silent_lines(cell.tree):
                text = (ast.get_source_segment(cell.source, statement) or "").split("\n")[0]
                notes.append(
                    f"cell {cell.index + 1} (metrics), line {statement.lineno}: `{text[:60]}`"
                    " logs no metric; write print(NAME) or the bare NAME of each metric"
                )
    return notes


LOCAL_IMAGE = "local"  # --image local: the local tag, knowingly


def _kfp_image(image: str | None, name: str, warnings: list[str]) -> str:
    """The image the Kubeflow components run: the one given, or with ``local`` the tag a
    local ``podman build`` gives (no cluster can pull it; said in a warning). No image is
    an error: the spec would name an image that exists nowhere a cluster looks."""
    local_tag = f"{image_name(name)}:latest"
    if image is None or not str(image).strip():
        raise ExportError(
            "The kfp target needs the image its steps run in: a cluster cannot pull"
            f" {local_tag}, the tag of a local build",
            hint="Export with --target docker,kfp, build the generated Dockerfile and push it"
            f" to a registry your cluster reads (podman build -t REGISTRY/{image_name(name)}:1"
            f" DIR && podman push REGISTRY/{image_name(name)}:1), then export with --image"
            f" REGISTRY/{image_name(name)}:1; or --image {LOCAL_IMAGE} to name the local tag"
            " anyway (a local Kubeflow, kfp.local).",
        )
    if str(image).strip() == LOCAL_IMAGE:
        warnings.append(
            f"the Kubeflow components run the local image {local_tag}: build it from the"
            " Dockerfile (podman build -t ...) where the pipeline runs; a cluster cannot pull it"
        )
        return local_tag
    return check_image_reference(image, option="image")


def _source(
    notebook_path: Path | None,
    run_id: str | None,
    registry: Any,
    drift_tags: list[tuple[str, Any]],
    warnings: list[str],
) -> tuple[SourceRun | None, dict[tuple[str, str], tuple[str | None, bytes | None]]]:
    """The notebook run the export reflects, and the reference of each drift check."""
    from ..registry.connection import Registry

    if run_id is None and not drift_tags:
        return None, {}
    opened = _open_registry(registry, notebook_path)
    if opened is None:
        if run_id not in (None, AUTO):
            warnings.append(
                f'no registry found here, so run "{run_id}" is recorded as given, without its'
                " experiment"
            )
            return SourceRun(str(run_id), None, None), {}
        if drift_tags:
            warnings.append(
                "no registry found here: drift checks will look for their reference"
                " snapshots when the pipeline runs"
            )
        return None, {}
    try:
        found = find_source_run(opened, notebook_path, run_id) if run_id is not None else None
        if found is None and run_id == AUTO and notebook_path is not None:
            warnings.append(
                f"no tracked run of {notebook_path.name} in {opened.path}: parity cannot be"
                " checked (run the notebook with %mlops start or %%mlops run, then export)"
            )
        references = drift_references(opened, drift_tags, found.id if found else None, warnings)
        return found, references
    finally:
        if not isinstance(registry, Registry):
            opened.close()


def _open_registry(registry: Any, notebook_path: Path | None) -> Any:
    from ..errors import RegistryError
    from ..registry.connection import Registry
    from ..registry.location import locate

    if isinstance(registry, Registry):
        return registry
    if registry is not None:
        return Registry.open(Path(registry))
    starts = [Path.cwd()] + ([notebook_path.resolve().parent] if notebook_path else [])
    for start in starts:
        found = locate(start)
        if found is not None and found.is_file():
            try:
                return Registry.open(found)
            except RegistryError:
                return None
    return None


def _drift_spec(
    step: str,
    tag: Any,
    references: dict[tuple[str, str], tuple[str | None, bytes | None]],
    files: dict[str, bytes],
) -> DriftCheckSpec:
    snapshot_id, document = references.get((step, tag.variable), (None, None))
    reference_file = None
    if document is not None:
        reference_file = f"references/{step}.{tag.variable}.json"
        files[reference_file] = document
    return DriftCheckSpec(
        step=step,
        variable=tag.variable,
        cell_index=tag.cell_index,
        reference=tag.reference or snapshot_id,
        reference_file=reference_file,
    )


def _checked_seed(seed: Any) -> int | None:
    """``--seed`` as an integer NumPy accepts (0 to 2**32 - 1), or None."""
    if seed is None:
        return None
    try:
        value = int(str(seed).strip())
    except ValueError:
        value = -1
    if isinstance(seed, bool) or not 0 <= value < 2**32:
        raise ExportError(
            f"--seed {seed!r} is not a seed",
            hint="Give a whole number from 0 to 4294967295, e.g. --seed 42.",
        )
    return value


def _targets(targets: tuple[str, ...] | list[str] | str) -> tuple[str, ...]:
    if isinstance(targets, str):
        targets = [t for t in targets.split(",")]
    chosen = tuple(dict.fromkeys(t.strip().lower() for t in targets if t.strip()))
    unknown = [t for t in chosen if t not in TARGETS]
    if unknown:
        raise ExportError(
            f"Unknown export target {unknown[0]!r}",
            hint=f"Targets: {', '.join(TARGETS)} (for example --target local,docker).",
        )
    return chosen or ("local",)


def _nbformat() -> Any:
    """nbformat, or an ExportError saying how to get it: it comes with the ``jupyter``
    extra, and a core install (a pipeline image, a script) has no notebooks to read."""
    try:
        import nbformat
    except ModuleNotFoundError as exc:
        raise nbformat_missing() from exc
    return nbformat


def _read_notebook(notebook: str | Path | Any) -> tuple[Any, Path | None]:
    if isinstance(notebook, (str, Path)):
        path = Path(notebook)
        if not path.is_file():
            raise ExportError(
                f"Notebook {path} does not exist", hint="Check the path (relative to here)."
            )
        return read_notebook(path), path
    if not hasattr(notebook, "cells"):
        raise ExportError(
            f"Cannot export a {type(notebook).__name__}: pass a notebook path or an nbformat node"
        )
    return notebook, None


def _compile_or_fail(text: str, filename: str, step: str | None) -> None:
    try:
        compile(text, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise ExportError(
            f"{filename} (step {step!r}) does not compile on line {exc.lineno}: {exc.msg}",
            step=step,
            hint="Top-level await and some IPython syntax cannot run outside a notebook;"
            " rewrite the cell in plain Python.",
        ) from exc


def _version() -> str:
    from .._version import __version__

    return __version__
