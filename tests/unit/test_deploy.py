"""deploy/ checked offline: files parse, every command the images run is a real maskwatch
command, every config they mount validates, probes hit endpoints that exist, and the Grafana
dashboard only asks for metrics maskwatch exports. (Docker cannot run here; kubectl can render
the kustomizations.)"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from maskwatch.app.cli import build_parser
from maskwatch.config import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SECRETS = (
    "CAM_PASSWORD",
    "PG_PASSWORD",
    "WEBHOOK_SECRET",
    "SMTP_PASSWORD",
    "WEB_SESSION_SECRET",
    "WEB_ADMIN_PASSWORD_HASH",
)


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    import secrets

    for name in SECRETS:
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("WEB_SESSION_SECRET", secrets.token_urlsafe(32))  # weak session keys are refused


def assert_maskwatch_command(args: list[str]) -> None:
    try:
        build_parser().parse_args(args)
    except SystemExit as exc:
        raise AssertionError(f"not a maskwatch command: {args}") from exc


def config_at(path: Path) -> Settings:
    return load_settings(path)


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM \S+ AS (\w+)", text, re.M)
    assert stages == ["build", "runtime", "train"]
    runtime = text.split("AS runtime", 1)[1].split("AS train", 1)[0]
    assert "tensorflow" not in runtime.lower()  # LiteRT only
    users = re.findall(r"^USER (\S+)", text, re.M)
    assert users and users[-1] != "root" and users[0] != "root"
    (health,) = re.findall(r"^HEALTHCHECK .* CMD (\[.*\])$", text, re.M)
    cmd = json.loads(health)
    assert cmd[0] == "maskwatch"
    assert_maskwatch_command(cmd[1:])
    for src in re.findall(r"^COPY (?!--from)(\S+) ", text, re.M):
        assert (REPO / src).exists(), src


def test_compose_services_run_real_commands_on_a_valid_config() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"redis", "postgres", "migrate", "ingest", "infer", "record", "alerts"} <= set(services)
    for name in ("redis", "postgres"):
        assert services[name]["healthcheck"]["test"]
    stages = {n: s for n, s in services.items() if s.get("image") == "maskwatch:latest"}
    assert set(stages) == {"migrate", "ingest", "infer", "record", "alerts", "web"}
    assert services["web"]["ports"] == ["8080:8080"]
    for name, svc in stages.items():
        assert_maskwatch_command(svc["command"])
        conditions = {dep: spec["condition"] for dep, spec in svc["depends_on"].items()}
        assert conditions.get("postgres") == "service_healthy", name
        if name != "migrate":
            assert conditions["migrate"] == "service_completed_successfully"
            assert conditions["redis"] == "service_healthy"
        (mount,) = [v for v in svc["volumes"] if v.endswith(":/etc/maskwatch/maskwatch.yaml:ro")]
        settings = config_at(DEPLOY / mount.split(":")[0])
        assert settings.metrics.port == 9100 and settings.metrics.address == "0.0.0.0"  # the HEALTHCHECK's port
        assert settings.queue.url == "redis://redis:6379/0" and "@postgres:5432/" in settings.database.url


def _kustomize(path: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:  # render what kustomize would list, without patches
        kust = yaml.safe_load((path / "kustomization.yaml").read_text())
        docs: list[dict[str, Any]] = []
        for res in kust["resources"]:
            target = path / res
            docs += _kustomize(target) if target.is_dir() else list(yaml.safe_load_all(target.read_text()))
        return docs
    out = subprocess.run([kubectl, "kustomize", str(path)], check=True, capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.mark.parametrize("overlay", ["base", "overlays/production"])
def test_kubernetes_manifests(overlay: str, tmp_path: Path) -> None:
    docs = _kustomize(DEPLOY / "k8s" / overlay)
    kinds = [d["kind"] for d in docs]
    assert kinds.count("Deployment") == 5 and "Job" in kinds and "PodDisruptionBudget" in kinds
    assert "Service" in kinds and "Ingress" in kinds
    if overlay == "base":
        assert "HorizontalPodAutoscaler" in kinds and "ScaledObject" not in kinds
    else:
        assert "ScaledObject" in kinds and "HorizontalPodAutoscaler" not in kinds
        assert all(d["metadata"].get("namespace") == "maskwatch" for d in docs)
    configmap = next(d for d in docs if d["kind"] == "ConfigMap")
    (tmp_path / "maskwatch.yaml").write_text(configmap["data"]["maskwatch.yaml"])
    settings = config_at(tmp_path / "maskwatch.yaml")
    for d in docs:
        if d["kind"] not in ("Deployment", "Job"):
            continue
        pod = d["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert_maskwatch_command(container["args"])
        assert container["args"][-1] == "/etc/maskwatch/maskwatch.yaml"
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert container["envFrom"] == [{"secretRef": {"name": "maskwatch-secrets"}}]
        if d["kind"] == "Deployment" and container["args"][0] == "serve":
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            assert ports["http"] == settings.web.port and settings.web.address == "0.0.0.0"
            assert container["livenessProbe"]["httpGet"]["path"] == "/login"
        elif d["kind"] == "Deployment":
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            assert ports["metrics"] == settings.metrics.port
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    record = next(d for d in docs if d["metadata"]["name"].endswith("maskwatch-record"))
    assert record["spec"]["replicas"] == 1 and record["spec"]["strategy"]["type"] == "Recreate"


def test_keda_scales_inference_on_the_consumer_group_maskwatch_uses() -> None:
    from maskwatch.streams import FRAMES_PREFIX, INFERENCE_GROUP

    scaled = yaml.safe_load((DEPLOY / "k8s" / "overlays" / "production" / "keda-infer.yaml").read_text())
    assert scaled["spec"]["scaleTargetRef"]["name"] == "maskwatch-infer"
    redis_trigger = next(t for t in scaled["spec"]["triggers"] if t["type"] == "redis-streams")
    assert redis_trigger["metadata"]["consumerGroup"] == INFERENCE_GROUP
    assert redis_trigger["metadata"]["stream"].startswith(FRAMES_PREFIX)
    prom = next(t for t in scaled["spec"]["triggers"] if t["type"] == "prometheus")
    assert "maskwatch_frames_backlog" in prom["metadata"]["query"]


def _exported_metric_names() -> set[str]:
    from prometheus_client import REGISTRY

    import maskwatch.metrics  # noqa: F401 - registers the metrics

    # Every series name registered, suffixes included (_total, _bucket, _sum, _count).
    return set(REGISTRY._names_to_collectors)


def test_grafana_dashboard_uses_only_exported_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    exported = _exported_metric_names()
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(maskwatch_[a-z_]+)\b", target["expr"])
    }
    assert used and used <= exported, sorted(used - exported)


def test_systemd_unit_runs_real_commands() -> None:
    unit = (DEPLOY / "systemd" / "maskwatch@.service").read_text()
    for line in re.findall(r"^Exec(?:Start|StartPre)=(.*)$", unit, re.M):
        args = line.split()[1:]
        assert_maskwatch_command([a.replace("%i", "ingest") for a in args])
