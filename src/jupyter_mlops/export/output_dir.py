"""The pipeline directory besides the generated code: made ready for an export, the local
modules the notebook imports copied in, and the jupyter-mlops wheel an image installs checked.

    prepare_output_dir(Path("churn-pipeline"))    # refuses a directory of something else
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..errors import ExportError
from ..runner.spec import SPEC_FILENAME


def prepare_output_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} exists and is not a directory", hint="Choose another -o DIR.")
    if out.is_dir() and any(out.iterdir()) and not (out / SPEC_FILENAME).is_file():
        raise ExportError(
            f"{out} is not empty and holds no earlier export; refusing to write into it",
            hint="Choose an empty or new directory with -o DIR.",
        )
    # wheels/ is left alone: a wheel put there by hand is installed by the image
    for stale in ("steps", "kfp", "references"):
        if (out / stale).is_dir():
            shutil.rmtree(out / stale)


def copy_local_modules(
    modules: tuple[str, ...],
    notebook_path: Path | None,
    files: dict[str, bytes],
    warnings: list[str],
) -> set[str]:
    """Copy modules that sit next to the notebook (``import helpers``) into steps/."""
    if notebook_path is None:
        return set()
    base = notebook_path.resolve().parent
    found: set[str] = set()
    for module in modules:
        single = base / f"{module}.py"
        package = base / module
        sources: list[Path] = []
        if single.is_file():
            sources = [single]
        elif (package / "__init__.py").is_file():
            sources = [p for p in sorted(package.rglob("*.py")) if "__pycache__" not in p.parts]
        if not sources:
            continue
        for source in sources:
            relative = f"steps/{source.relative_to(base).as_posix()}"
            if relative in files:
                raise ExportError(
                    f'The local module "{module}" has the same name as a generated step module',
                    hint="Rename the step or the module.",
                )
            files[relative] = source.read_bytes()
        found.add(module)
        warnings.append(f'copied the local module "{module}" into steps/')
    return found


def checked_wheel(path: Path, version: str) -> Path:
    """``path`` if it is a wheel of jupyter-mlops ``version``, the one the Dockerfile pins
    (pip would pass over a wheel of another version and take the index's)."""
    from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
    from packaging.version import Version

    build_hint = (
        "Build one in a jupyter-mlops checkout with `python -m build --wheel` (or"
        " `pip wheel --no-deps .`), or leave the wheel out to install from the package index."
    )
    if not path.is_file():
        raise ExportError(f"Wheel {path} does not exist", hint=build_hint)
    try:
        name, wheel_version, _, _ = parse_wheel_filename(path.name)
    except InvalidWheelFilename:
        raise ExportError(f"{path.name} is not a wheel file name", hint=build_hint) from None
    if canonicalize_name(name) != "jupyter-mlops":
        raise ExportError(
            f"{path.name} is a wheel of {name}, not of jupyter-mlops", hint=build_hint
        )
    if wheel_version != Version(version):
        raise ExportError(
            f"{path.name} is jupyter-mlops {wheel_version}, but the image installs"
            f" jupyter-mlops=={version}, the version that wrote these steps",
            hint=f"Give a wheel of jupyter-mlops {version}, or export with jupyter-mlops"
            f" {wheel_version} installed.",
        )
    return path
