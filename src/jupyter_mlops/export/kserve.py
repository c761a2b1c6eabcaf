"""``jupyter mlops serve NAME@ALIAS --target kserve``: the same server, runtime and
protocol, as an image and the KServe resources that run it on a cluster.

The folder written holds:

- ``registry/.mlops``: a registry of its own with the served version (and the shadow's),
  their aliases, and their files copied and checked against their hashes (runs and
  snapshots stay behind: serving needs neither);
- ``Dockerfile``: made as a pipeline's image is (:func:`..export.container.install_layers`):
  the versions' recorded libraries and MLServer pinned in ``requirements.lock``, then this
  jupyter-mlops from ``wheels/`` or the index; the entry point is ``jupyter mlops serve``
  on port 8080, listening on every address as a pod must;
- ``kserve.yaml``: a ``ServingRuntime`` that runs that image for the model format
  ``jupyter-mlops`` with protocol ``v2``, and an ``InferenceService`` whose predictor
  names that format, runtime and protocol: the Open Inference Protocol KServe routes to,
  answered by the runtime the local server uses;
- ``README.md``: how to build, push and apply it.

Inside a pod the prediction log goes to the image's own registry (lost with the pod):
mount a volume at ``/serving/registry`` to keep it, or run with ``--no-log``.

    written = write_kserve_bundle(registry, "churn@champion", "churn-kserve",
                                  image="registry.example.com/churn:4")
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from .._version import __version__
from ..errors import InvalidInputError
from ..models.copying import copy_versions
from ..models.refs import parse_ref
from ..models.versions import ModelVersion, resolve_version
from ..registry.connection import Registry
from .container import install_layers
from .quoting import check_image_reference

MODEL_FORMAT = "jupyter-mlops"
REGISTRY_IN_IMAGE = "/serving/registry"
REGISTRY_FILE_IN_IMAGE = f"{REGISTRY_IN_IMAGE}/.mlops/registry.db"
PORT = 8080
GRPC_PORT = 8081
# The MLServer an image pins when the one writing it has none (the serve extra not installed).
MLSERVER_WITHOUT_SERVE_EXTRA = "1.7.1"


@dataclass(frozen=True)
class KServeBundle:
    """What :func:`write_kserve_bundle` wrote: the folder, its files, the versions copied."""

    directory: Path
    files: tuple[str, ...]
    versions: tuple[str, ...]  # churn@3, and the shadow's
    image: str
    service_name: str

    def summary(self) -> str:
        return (
            f"Wrote {self.directory}: {', '.join(self.files)} with {', '.join(self.versions)}."
            f"\nBuild and push the image as {self.image}, then: kubectl apply -f"
            f" {self.directory / 'kserve.yaml'}"
        )


def write_kserve_bundle(
    registry: Registry,
    ref: str,
    output: str | Path,
    *,
    shadow: str | None = None,
    image: str | None = None,
    base_image: str | None = None,
    sample_rate: float = 1.0,
    overwrite: bool = False,
) -> KServeBundle:
    """Write the folder the module doc describes for ``ref`` (an alias reference, which
    the server follows) and ``shadow``."""
    served = resolve_version(registry, ref)
    shadowed = None if shadow is None else resolve_version(registry, shadow)
    name = service_name(served.model)
    image = check_image_reference(image or f"{name}-serving:{served.version}", option="image")
    base = check_image_reference(
        base_image or f"python:{sys.version_info.major}.{sys.version_info.minor}-slim",
        option="base_image",
    )
    directory = Path(output)
    if directory.exists() and any(directory.iterdir()) and not overwrite:
        raise InvalidInputError(
            f"{directory} exists and is not empty",
            hint="Give another --output folder, or remove this one first.",
        )
    created = not directory.exists()
    try:
        (directory / "wheels").mkdir(parents=True, exist_ok=True)
        copied = copy_versions(
            registry, [(ref, served)] + ([] if shadowed is None else [(shadow or "", shadowed)]),
            directory / "registry",
        )  # fmt: skip
        pins = lock_pins([served] + ([] if shadowed is None else [shadowed]))
        (directory / "requirements.lock").write_text("\n".join(pins) + "\n")
        (directory / "Dockerfile").write_text(dockerfile_text(ref, shadow, base, sample_rate))
        (directory / ".dockerignore").write_text("*\n!requirements.lock\n!wheels/\n!registry/\n")
        (directory / "kserve.yaml").write_text(kserve_yaml(ref, shadow, name, image, served))
        (directory / "README.md").write_text(readme_text(ref, name, image, copied))
    except BaseException:
        if created:  # nothing half-written is left behind
            shutil.rmtree(directory, ignore_errors=True)
        raise
    files = ("Dockerfile", "requirements.lock", "kserve.yaml", "README.md", "registry/", "wheels/")
    return KServeBundle(directory, files, copied, image, name)


def lock_pins(versions: list[ModelVersion]) -> list[str]:
    """The libraries the versions recorded (to load them as they were saved) and the
    MLServer installed here, pinned."""
    from .environment import module_distributions

    pins: dict[str, str] = {}
    for version in versions:
        recorded = {name: value for name, value in version.libraries.items() if name != "python"}
        distributions = module_distributions(sorted(recorded))  # sklearn -> scikit-learn
        for module, value in recorded.items():
            for distribution in distributions.get(module) or [module]:
                pins[distribution.lower()] = value
    try:
        pins["mlserver"] = importlib.metadata.version("mlserver")
    except importlib.metadata.PackageNotFoundError:
        pins["mlserver"] = MLSERVER_WITHOUT_SERVE_EXTRA
    pins.pop("jupyter-mlops", None)
    return [f"{name}=={value}" for name, value in sorted(pins.items())]


def dockerfile_text(ref: str, shadow: str | None, base_image: str, sample_rate: float) -> str:
    command = ["jupyter-mlops", "serve", ref, "--registry", REGISTRY_FILE_IN_IMAGE,
               "--host", "0.0.0.0", "--port", str(PORT), "--grpc-port", str(GRPC_PORT),
               "--sample-rate", repr(sample_rate)]  # fmt: skip
    if shadow is not None:
        command += ["--shadow", shadow]
    return f"""\
# {ref} served on MLServer (Open Inference Protocol, V2) by jupyter-mlops, for KServe.
# Build:  podman build -t IMAGE .    (or docker build), then push IMAGE and apply kserve.yaml
ARG BASE_IMAGE={base_image}
FROM ${{BASE_IMAGE}}

ENV PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /serving

{
        install_layers(
            __version__,
            locked="the libraries the served versions were saved with, and MLServer",
            core="The jupyter-mlops core, whose runtime MLServer runs",
        )
    } \\
    && useradd --no-log-init --create-home --uid 10001 mlops

# The versions served, in a registry of their own; the prediction log is written here.
COPY --chown=10001 registry/ {REGISTRY_IN_IMAGE}/
USER 10001
EXPOSE {PORT} {GRPC_PORT}
ENTRYPOINT {json.dumps(command)}
"""


def kserve_yaml(ref: str, shadow: str | None, name: str, image: str, served: ModelVersion) -> str:
    """A ServingRuntime and an InferenceService, as one YAML file of two documents (JSON
    flow style, which YAML reads as it is)."""
    labels = {"app.kubernetes.io/managed-by": "jupyter-mlops"}
    annotations = {
        "jupyter-mlops/ref": ref,
        "jupyter-mlops/version": served.ref,
        "jupyter-mlops/artifact-sha256": served.artifact_sha256,
    }
    if shadow is not None:
        annotations["jupyter-mlops/shadow"] = shadow
    runtime = {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ServingRuntime",
        "metadata": {"name": f"{name}-runtime", "labels": labels},
        "spec": {
            "supportedModelFormats": [{"name": MODEL_FORMAT, "version": "1", "autoSelect": True}],
            "protocolVersions": ["v2"],
            "containers": [
                {
                    "name": "kserve-container",
                    "image": image,
                    "ports": [{"containerPort": PORT, "protocol": "TCP"}],
                    "readinessProbe": {
                        "httpGet": {"path": "/v2/health/ready", "port": PORT},
                        "periodSeconds": 5,
                    },
                }
            ],
        },
    }
    service = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "spec": {
            "predictor": {
                "model": {
                    "modelFormat": {"name": MODEL_FORMAT, "version": "1"},
                    "runtime": f"{name}-runtime",
                    "protocolVersion": "v2",
                }
            }
        },
    }
    return (
        "# Apply with: kubectl apply -f kserve.yaml (KServe installed, the image pushed).\n"
        f"{json.dumps(runtime, indent=2)}\n---\n{json.dumps(service, indent=2)}\n"
    )


def readme_text(ref: str, name: str, image: str, versions: tuple[str, ...]) -> str:
    return f"""# {name}: {ref} on KServe

Serves {", ".join(versions)} with jupyter-mlops's MLServer runtime (Open Inference Protocol,
V2), as `jupyter mlops serve {ref}` does on one machine.

```sh
podman build -t {image} .          # or docker build; put a wheel of jupyter-mlops in wheels/ to use it
podman push {image}
kubectl apply -f kserve.yaml
curl -H "Content-Type: application/json" -d @request.json \\
    http://{name}.<namespace>.<domain>/v2/models/{parse_ref(ref).name}/infer
```

Locally: `podman run --rm -p 8080:8080 {image}`.

The image holds the versions in `registry/` (copied from the project's registry and checked
against their hashes) and writes its prediction log there: mount a volume at
`{REGISTRY_IN_IMAGE}` to keep it.
"""


def service_name(model: str) -> str:
    """A Kubernetes name (RFC 1123 label) for ``model``: lower case, digits and hyphens."""
    name = re.sub(r"[^a-z0-9-]+", "-", model.lower()).strip("-")[:53]
    return name or "model"


def copy_wheel(wheel: str | Path, directory: Path) -> None:
    """Put a wheel of jupyter-mlops in the bundle's ``wheels/`` (the image uses it)."""
    path = Path(wheel)
    if not path.is_file() or path.suffix != ".whl":
        raise InvalidInputError(f"{path} is not a wheel file", hint="Give a .whl of jupyter-mlops.")
    shutil.copy2(path, directory / "wheels" / path.name)
