"""The container image and the Kubernetes examples (issue 27), checked by linters and
against the code they configure.

The image is not built here: this machine reaches no container registry (docker.io and
quay.io do not answer), so no base image can be pulled, and no Docker engine runs; podman
and buildah install from Debian but would need that base image too. So the Containerfile
is linted (hadolint) and read for what the issue asks of it, and the manifests are
validated against the Kubernetes schemas (kubernetes-validate, strict), linted (yamllint),
and tied to Visor: every setting they set exists, every metric they scale on is exported.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from helpers import plugin_sources

from app.observability.scaling import ScalingSignal
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
CONTAINERFILE = ROOT / "Containerfile"
MANIFESTS = ROOT / "examples" / "deploy" / "kubernetes"
CORE_KINDS = {"ConfigMap", "Secret", "Deployment", "Service", "StatefulSet"}
CORE_KINDS |= {"PodDisruptionBudget", "HorizontalPodAutoscaler"}


def _documents() -> list[dict[str, Any]]:
    found = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        found += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(str(Path(sys.executable).parent / name))
    if found is None:
        pytest.skip(f"{name} is not installed (the dev extra has it)")
    return found


def test_the_containerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [_tool("hadolint"), "--failure-threshold", "warning", str(CONTAINERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_slim_non_root_and_checks_its_health() -> None:
    text = CONTAINERFILE.read_text()
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]
    assert len(stages) == 2, "a build stage and a runtime stage"
    runtime = stages[-1]
    assert runtime.startswith("docker.io/library/python:${PYTHON}-slim")
    user = re.search(r"^USER (\S+)", runtime, flags=re.MULTILINE)
    assert user is not None and user.group(1) not in ("root", "0")
    assert "HEALTHCHECK" in runtime and "/v1/health" in runtime
    # no build tools or package installs in what ships: only the built environment is copied
    assert not re.search(r"apt-get|apk add|gcc|build-essential|pip install", runtime)
    assert "COPY --from=build /opt/visor /opt/visor" in runtime
    # the built-in plugins come with the server package, binary wheels only
    assert '--only-binary=:all: "/src/server[${EXTRAS}]"' in stages[0]


def test_the_manifests_lint_and_validate() -> None:
    config = "{extends: default, rules: {line-length: {max: 120}, document-start: disable}}"
    lint = subprocess.run(
        [_tool("yamllint"), "-s", "-d", config, str(MANIFESTS)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    validate = pytest.importorskip("kubernetes_validate")
    kinds = set()
    for doc in _documents():
        kinds.add(doc["kind"])
        if doc["kind"] in CORE_KINDS:
            validate.validate(doc, "1.30.0", strict=True)
    assert {"Deployment", "StatefulSet", "HorizontalPodAutoscaler", "RayCluster"} <= kinds
    assert "ScaledObject" in kinds


def test_the_manifests_configure_what_visor_has(make_client: Any) -> None:
    docs = _documents()
    (config,) = [d for d in docs if d["kind"] == "ConfigMap"]
    (secret,) = [d for d in docs if d["kind"] == "Secret"]
    fields = set(Settings.model_fields)
    for name in [*config["data"], *secret["stringData"]]:
        if name.startswith("VISOR_"):
            assert name.removeprefix("VISOR_").lower() in fields, f"no setting {name}"
    deployments = {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"}
    for scaler in (d for d in docs if d["kind"] in ("ScaledObject", "HorizontalPodAutoscaler")):
        assert scaler["spec"]["scaleTargetRef"]["name"] in deployments

    # Every metric the autoscalers use is one Visor exports, and the JSON field too.
    client: TestClient = make_client(plugin_sources("echo"), force_in_process=True)
    exported = set(re.findall(r"^(visor_\w+)", client.get("/metrics").text, re.MULTILINE))
    used = set()
    for doc in docs:
        if doc["kind"] == "ScaledObject":
            for trigger in doc["spec"]["triggers"]:
                meta = trigger["metadata"]
                used |= set(re.findall(r"visor_\w+", meta.get("query", "")))
                if "valueLocation" in meta:
                    assert meta["valueLocation"] in ScalingSignal.model_fields
        if doc["kind"] == "HorizontalPodAutoscaler":
            for metric in doc["spec"]["metrics"]:
                used.add(metric[metric["type"].lower()]["metric"]["name"])
    assert used and used <= exported, used - exported
