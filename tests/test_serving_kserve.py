"""``jupyter mlops serve NAME@ALIAS --target kserve``: the folder of an image that serves the
version with the same runtime and protocol, and the KServe resources that run it. The
resources are read back by the ``kserve`` SDK's own models (in an environment of their own),
and the image is built and run with podman, answering the Open Inference Protocol."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from jupyter_mlops.cli import main
from jupyter_mlops.errors import ArtifactIntegrityError, InvalidInputError
from jupyter_mlops.export.kserve import (
    MLSERVER_WITHOUT_SERVE_EXTRA,
    REGISTRY_FILE_IN_IMAGE,
    write_kserve_bundle,
)
from jupyter_mlops.models.registering import register
from jupyter_mlops.models.versions import resolve_version
from jupyter_mlops.registry.connection import Registry

from .conftest import cli_runner

# seconds this module takes, for tests/sharding.py's order: building the image installs
# MLServer and its dependencies from the index
EXPECTED_SECONDS = 110

REPO = Path(__file__).resolve().parents[1]
FEATURES = ["age", "income"]


def customers(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"age": rng.normal(40, 10, n), "income": rng.gamma(2.0, 2.0, n)})
    frame["churned"] = (frame["age"] < 38).astype(int)
    return frame


@pytest.fixture
def churn(registry: Registry) -> tuple[Registry, LogisticRegression]:
    data = customers()
    model = LogisticRegression(max_iter=1000).fit(data[FEATURES], data["churned"])
    register(registry, model, "churn", alias="champion")
    return registry, model


def test_the_folder_holds_the_version_its_image_and_both_resources(churn, tmp_path: Path) -> None:
    registry, _ = churn
    from importlib.metadata import PackageNotFoundError, version

    bundle = write_kserve_bundle(registry, "churn@champion", tmp_path / "out", image="churn:1")

    served = resolve_version(registry, "churn@champion")
    with Registry.open(tmp_path / "out" / "registry" / ".mlops" / "registry.db") as copied:
        inside = resolve_version(copied, "churn@champion")
        assert (inside.version, inside.artifact_sha256) == (1, served.artifact_sha256)
        assert inside.signature == served.signature and inside.run_id is None
        assert copied.artifacts.verified_path(served.artifact_sha256).exists()
        assert copied.query_one("SELECT COUNT(*) FROM model_versions")[0] == 1
    lock = (tmp_path / "out" / "requirements.lock").read_text().splitlines()
    assert f"scikit-learn=={version('scikit-learn')}" in lock
    try:
        mlserver = version("mlserver")
    except PackageNotFoundError:  # the serve extra is not installed here
        mlserver = MLSERVER_WITHOUT_SERVE_EXTRA
    assert f"mlserver=={mlserver}" in lock
    dockerfile = (tmp_path / "out" / "Dockerfile").read_text()
    entry = json.loads(dockerfile.split("ENTRYPOINT ", 1)[1].splitlines()[0])
    assert entry[:3] == ["jupyter-mlops", "serve", "churn@champion"]  # the console script
    assert entry[entry.index("--registry") + 1] == REGISTRY_FILE_IN_IMAGE
    assert entry[entry.index("--host") + 1] == "0.0.0.0"
    runtime, service = (tmp_path / "out" / "kserve.yaml").read_text().split("\n---\n")
    service_doc = json.loads(service)
    assert service_doc["spec"]["predictor"]["model"]["protocolVersion"] == "v2"
    assert service_doc["metadata"]["annotations"]["jupyter-mlops/version"] == "churn@1"
    assert json.loads(runtime.split("\n", 1)[1])["spec"]["containers"][0]["image"] == "churn:1"
    assert "kubectl apply -f" in bundle.summary()


def test_a_changed_file_or_a_used_folder_is_refused(churn, tmp_path: Path) -> None:
    registry, _ = churn
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    with pytest.raises(InvalidInputError, match="exists and is not empty"):
        write_kserve_bundle(registry, "churn@champion", tmp_path / "used")
    stored = registry.artifacts.path_of(resolve_version(registry, "churn@1").artifact_sha256)
    stored.chmod(0o644)
    stored.write_bytes(stored.read_bytes() + b"tampered")
    with pytest.raises(ArtifactIntegrityError, match="stored file of churn@1 does not match"):
        write_kserve_bundle(registry, "churn@champion", tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()  # nothing half-written is left


@pytest.fixture(scope="session")
def kserve_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A Python with the kserve SDK (its pins clash with the test environment's)."""
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        pytest.skip("uv is not installed in this environment (scripts/setup installs it in .venv)")
    venv = tmp_path_factory.mktemp("kserve") / "venv"
    subprocess.run([str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    done = subprocess.run(
        [str(uv), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
         "kserve>=0.15", "pyyaml"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return str(venv / "bin" / "python")


@pytest.mark.slow
def test_the_kserve_sdk_reads_both_resources(churn, tmp_path: Path, kserve_python: str) -> None:
    registry, _ = churn
    result = cli_runner().invoke(
        main,
        ["serve", "churn@champion", "--target", "kserve", "-o", str(tmp_path / "k"),
         "--image", "registry.example.com/churn:1", "--registry", str(registry.path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    read = subprocess.run(
        [kserve_python, str(REPO / "tests" / "kserve_models.py"), str(tmp_path / "k" / "kserve.yaml")],
        capture_output=True, text=True,
    )  # fmt: skip

    assert read.returncode == 0, read.stderr + read.stdout
    (runtime, service) = json.loads(read.stdout)
    assert runtime["class"] == "V1alpha1ServingRuntime"
    spec = runtime["object"]["spec"]
    assert spec["protocol_versions"] == ["v2"]
    assert spec["supported_model_formats"][0]["name"] == "jupyter-mlops"
    assert spec["containers"][0]["image"] == "registry.example.com/churn:1"
    assert service["class"] == "V1beta1InferenceService"
    model = service["object"]["spec"]["predictor"]["model"]
    assert (model["runtime"], model["protocol_version"]) == ("churn-runtime", "v2")
    # the reader is strict: a field KServe does not have fails
    broken = (tmp_path / "k" / "kserve.yaml").read_text().replace('"runtime":', '"runtimes":')
    (tmp_path / "broken.yaml").write_text(broken)
    refused = subprocess.run(
        [kserve_python, str(REPO / "tests" / "kserve_models.py"), str(tmp_path / "broken.yaml")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert refused.returncode != 0 and "no field runtimes" in refused.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
@pytest.mark.container
def test_the_image_serves_the_version_over_the_open_inference_protocol(
    churn, tmp_path: Path, checkout_wheel: Path
) -> None:
    if os.geteuid() != 0 or shutil.which("podman") is None:
        pytest.skip("the container tests need root and podman (scripts/container-setup)")
    registry, model = churn
    bundle = write_kserve_bundle(registry, "churn@champion", tmp_path / "k", image="churn:1")
    shutil.copy2(checkout_wheel, bundle.directory / "wheels" / checkout_wheel.name)
    tag = "localhost/mlops-kserve-test:latest"
    build = subprocess.run(
        ["podman", "build", "-t", tag, str(bundle.directory)],
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    port = free_port()
    name = f"mlops-kserve-{port}"
    subprocess.run(
        ["podman", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8080", tag],
        check=True, capture_output=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        rows = customers(20, seed=5)[FEATURES]
        body = {
            "inputs": [
                {"name": c, "shape": [len(rows)], "datatype": "FP64", "data": rows[c].tolist()}
                for c in FEATURES
            ]
        }
        payload = None
        deadline = time.monotonic() + 90
        while payload is None and time.monotonic() < deadline:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                connection.request("POST", "/v2/models/churn/infer", json.dumps(body),
                                   {"Content-Type": "application/json"})  # fmt: skip
                response = connection.getresponse()
                if response.status == 200:
                    payload = json.loads(response.read())
            except OSError:
                time.sleep(0.5)
            finally:
                connection.close()
        logs = subprocess.run(["podman", "logs", name], capture_output=True, text=True)
        assert payload is not None, (logs.stdout + logs.stderr)[-4000:]
        (output,) = payload["outputs"]
        assert [int(v) for v in output["data"]] == model.predict(rows).tolist()
        assert payload["model_version"] == "1"
    finally:
        subprocess.run(["podman", "rm", "-f", name], capture_output=True)
