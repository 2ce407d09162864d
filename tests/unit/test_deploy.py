"""deploy/ checked offline: files parse, every command the images run is a real maskwatch
command, every config they mount validates, probes hit endpoints that exist, inference gets a
core per thread, the autoscaler sees every camera, the console is behind TLS whenever its cookies
need it, and the dashboard and alerting rules only ask for metrics maskwatch exports. (Docker
and a cluster cannot run here; kubectl renders the kustomizations and promtool runs the rules
where they are installed.)"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from maskwatch.app.cli import resolve
from maskwatch.config import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
PRODUCTION = DEPLOY / "k8s" / "overlays" / "production"
RULES = DEPLOY / "prometheus" / "maskwatch-rules.yml"
# What secrets.env.example lists is all the deploy configs may ask the environment for.
EXAMPLE_ENV = dict(
    line.split("=", 1)
    for line in (DEPLOY / "secrets.env.example").read_text().splitlines()
    if line and not line.startswith("#")
)
METRIC = re.compile(r"\b(maskwatch_[a-z_]+)\b")


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    import secrets

    for name, example in EXAMPLE_ENV.items():
        monkeypatch.setenv(name, example or "x")
    monkeypatch.setenv("WEB_SESSION_SECRET", secrets.token_urlsafe(32))  # weak session keys are refused


def assert_maskwatch_command(args: list[str]) -> None:
    try:
        resolve(args)
    except click.ClickException as exc:
        raise AssertionError(f"not a maskwatch command: {args}: {exc.format_message()}") from exc


def config_at(path: Path) -> Settings:
    return load_settings(path)


def _cpus(value: str | float) -> float:
    text = str(value)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


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


# --- .dockerignore: Docker's rules (moby patternmatcher): the last pattern that matches a path or
# one of its parent folders decides; `!` re-includes; `*` stays within a folder, `**` crosses them.


def _pattern(text: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(text):
        if text.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif text.startswith("**", i):
            out, i = out + ".*", i + 2
        elif text[i] == "[":
            end = text.index("]", i)
            out, i = out + text[i : end + 1], end + 1
        else:
            out += {"*": "[^/]*", "?": "[^/]"}.get(text[i], re.escape(text[i]))
            i += 1
    return re.compile(out + "$")


def _dockerignore() -> list[tuple[re.Pattern[str], bool]]:
    rules = []
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negated = line.startswith("!")
            rules.append((_pattern(line.lstrip("!").strip("/")), negated))
    return rules


def _excluded(path: str, rules: list[tuple[re.Pattern[str], bool]]) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for rx, negated in rules:
        if any(rx.match(p) for p in prefixes):
            excluded = not negated
    return excluded


def test_dockerignore_sends_what_the_dockerfile_copies_and_nothing_else() -> None:
    rules = _dockerignore()
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        ".mypy_cache/3.11/x.json",
        ".pytest_cache/v/cache",
        "deploy/.env",  # the secrets
        "tests/unit/test_deploy.py",
        "devtools/rtsp_server.py",
        "runs/train/model.keras",
        "demo-output/maskwatch.db",
        "data/snapshots/a.jpg",
        "shared/videos/clip.mp4",
        "maskwatch.egg-info/PKG-INFO",
        "inference/__pycache__/worker.cpython-311.pyc",
        "ingest/clip.mp4",
    ):
        assert _excluded(path, rules), f"{path} would be sent to the Docker build"
    text = (DEPLOY / "Dockerfile").read_text()
    sources = re.findall(r"^COPY (?!--from)(.+) \S+$", text, re.M)
    needed = [REPO / s for line in sources for s in line.split()]
    assert len(needed) >= 9
    for src in needed:
        files = [src] if src.is_file() or src.is_symlink() else [p for p in src.rglob("*") if p.is_file()]
        for f in files:
            rel = f.relative_to(REPO).as_posix()
            if "__pycache__" not in rel:
                assert not _excluded(rel, rules), f"{rel} is needed by the image but left out of the build"
    links = [p for p in (REPO / "maskwatch").iterdir() if p.is_symlink()]
    assert len(links) == 6  # the stage folders, linked in: both ends go to the build
    for link in links:
        target = (link.parent / link.readlink()).resolve().relative_to(REPO).as_posix()
        assert not _excluded(link.relative_to(REPO).as_posix(), rules) and not _excluded(target, rules)
    assert any(f.suffix == ".tflite" for f in (REPO / "inference" / "models").iterdir())


# --- compose


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_compose_services_run_real_commands_on_a_valid_config() -> None:
    services = _compose()["services"]
    assert {"redis", "postgres", "migrate", "ingest", "infer", "record", "alerts", "web", "tls"} <= set(services)
    for name in ("redis", "postgres"):
        assert services[name]["healthcheck"]["test"]
    stages = {n: s for n, s in services.items() if s.get("image") == "maskwatch:latest"}
    assert set(stages) == {"migrate", "ingest", "infer", "record", "alerts", "web"}
    for name, svc in stages.items():
        assert_maskwatch_command(svc["command"])
        conditions = {dep: spec["condition"] for dep, spec in svc["depends_on"].items()}
        assert conditions.get("postgres") == "service_healthy", name
        if name != "migrate":
            assert conditions["migrate"] == "service_completed_successfully"
            assert conditions["redis"] == "service_healthy"
        assert svc["environment"]["OMP_NUM_THREADS"] == "1", name
        (mount,) = [v for v in svc["volumes"] if v.endswith(":/etc/maskwatch/maskwatch.yaml:ro")]
        settings = config_at(DEPLOY / mount.split(":")[0])
        assert settings.metrics.port == 9100 and settings.metrics.address == "0.0.0.0"  # the HEALTHCHECK's port
        assert settings.queue.url == "redis://redis:6379/0" and "@postgres:5432/" in settings.database.url


def test_compose_inference_gets_one_core_per_thread() -> None:
    infer = _compose()["services"]["infer"]
    assert _cpus(infer["cpus"]) == int(infer["environment"]["OMP_NUM_THREADS"])
    assert config_at(DEPLOY / "compose" / "maskwatch.yaml").analyzer.classifier.threads == _cpus(infer["cpus"])


def _caddy_site(caddyfile: Path, host: str, home: Path) -> tuple[list[str], list[str], bool]:
    """(listen addresses, reverse-proxy upstreams, internal CA) of the Caddyfile, as Caddy reads it."""
    caddy = shutil.which("caddy")
    if caddy is None:  # the Caddyfile's own words
        text = caddyfile.read_text()
        assert not re.search(r"^\s*(http://|:80\b)", text, re.M), "a plain-HTTP site"
        upstreams = re.findall(r"reverse_proxy\s+(\S+)", text)
        return [":443"], upstreams, "tls internal" in text
    env = {"MASKWATCH_HOST": host, "PATH": "/usr/bin:/bin", "HOME": str(home)}  # caddy writes under HOME
    out = subprocess.run(
        [caddy, "adapt", "--config", str(caddyfile), "--adapter", "caddyfile", "--validate"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    ).stdout
    apps = json.loads(out)["apps"]
    servers = apps["http"]["servers"].values()
    listen = [a for s in servers for a in s["listen"]]
    upstreams = re.findall(r'"dial":"([^"]+)"', out)
    issuers = [i["module"] for p in apps["tls"]["automation"]["policies"] for i in p.get("issuers", [])]
    return listen, upstreams, "internal" in issuers


def test_compose_serves_https_only_cookies_over_https(tmp_path: Path) -> None:
    services = _compose()["services"]
    web = services["web"]
    (mount,) = [v for v in web["volumes"] if v.endswith(":/etc/maskwatch/maskwatch.yaml:ro")]
    settings = config_at(DEPLOY / mount.split(":")[0])
    if not settings.web.secure_cookies:
        return  # plain HTTP is then a choice the config comment explains; nothing breaks logins
    # HTTPS-only cookies: the console must not be reachable over plain HTTP, only through TLS.
    assert "ports" not in web, "the console is published on plain HTTP while its cookies are HTTPS-only"
    proxies = [s for s in services.values() if s.get("depends_on", {}).get("web")]
    (tls,) = proxies
    assert tls["depends_on"]["web"]["condition"] == "service_healthy"
    (published,) = tls["ports"]
    assert published.endswith(":443")
    (caddyfile_mount,) = [v for v in tls["volumes"] if v.endswith(":/etc/caddy/Caddyfile:ro")]
    listen, upstreams, internal_ca = _caddy_site(DEPLOY / caddyfile_mount.split(":")[0], "192.0.2.20", tmp_path)
    assert listen == [":443"] and internal_ca  # HTTPS with its own CA: works with no public name
    assert upstreams == [f"web:{settings.web.port}"]


def test_env_example_warns_about_dollar_signs_in_hashes() -> None:
    text = (DEPLOY / "secrets.env.example").read_text()
    assert "$" in text and "single quotes" in text
    (example,) = re.findall(r"^#\s+WEB_ADMIN_PASSWORD_HASH=(.*)$", text, re.M)
    assert example.startswith("'$argon2id$") and example.endswith("'")


# --- Kubernetes


def _render_roughly(path: Path) -> list[dict[str, Any]]:
    """What kustomize would list, where kubectl is missing: resources, generated ConfigMaps, deletions
    and the namespace (no other patches, images or replacements)."""
    kust = yaml.safe_load((path / "kustomization.yaml").read_text())
    docs: list[dict[str, Any]] = []
    for res in kust["resources"]:
        target = path / res
        docs += _render_roughly(target) if target.is_dir() else [d for d in yaml.safe_load_all(target.read_text()) if d]
    for gen in kust.get("configMapGenerator", []):
        data = {Path(f).name: (path / f).read_text() for f in gen["files"]}
        docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": gen["name"]}, "data": data})
    for patch in kust.get("patches", []):
        if "$patch: delete" in patch["patch"]:
            target = patch["target"]
            docs = [d for d in docs if (d["kind"], d["metadata"]["name"]) != (target["kind"], target["name"])]
    for d in docs:
        if "namespace" in kust:
            d["metadata"]["namespace"] = kust["namespace"]
    return docs


def _kustomize(path: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return _render_roughly(path)
    out = subprocess.run([kubectl, "kustomize", str(path)], check=True, capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def _configmap_settings(docs: list[dict[str, Any]], tmp_path: Path) -> Settings:
    configmap = next(d for d in docs if d["kind"] == "ConfigMap")
    (tmp_path / "maskwatch.yaml").write_text(configmap["data"]["maskwatch.yaml"])
    return config_at(tmp_path / "maskwatch.yaml")


def _check_pod(d: dict[str, Any], settings: Settings) -> None:
    pod = d["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert_maskwatch_command(container["args"])
    assert container["args"][-1] == "/etc/maskwatch/maskwatch.yaml"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert container["envFrom"] == [{"secretRef": {"name": "maskwatch-secrets"}}]
    if d["kind"] == "Job":
        return
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    if container["args"][0] == "serve":
        assert ports["http"] == settings.web.port and settings.web.address == "0.0.0.0"
        assert container["livenessProbe"]["httpGet"]["path"] == "/login"
    else:
        assert ports["metrics"] == settings.metrics.port
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


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
        assert {"PodMonitor", "PrometheusRule"} <= set(kinds)
        assert all(d["metadata"].get("namespace") == "maskwatch" for d in docs)
    settings = _configmap_settings(docs, tmp_path)
    for d in docs:
        if d["kind"] in ("Deployment", "Job"):
            _check_pod(d, settings)
    record = next(d for d in docs if d["metadata"]["name"].endswith("maskwatch-record"))
    assert record["spec"]["replicas"] == 1 and record["spec"]["strategy"]["type"] == "Recreate"
    # An autoscaled Deployment names no replica count, which every `kubectl apply` would reset.
    scaled = {
        d["spec"]["scaleTargetRef"]["name"] for d in docs if d["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")
    }
    assert scaled == {"maskwatch-infer"}
    for d in docs:
        if d["kind"] == "Deployment" and d["metadata"]["name"] in scaled:
            assert "replicas" not in d["spec"], d["metadata"]["name"]
    ingress = next(d for d in docs if d["kind"] == "Ingress")
    assert ingress["spec"]["tls"] or not settings.web.secure_cookies  # HTTPS-only cookies need TLS


@pytest.mark.parametrize("overlay", ["base", "overlays/production"])
def test_inference_cpu_matches_its_threads(overlay: str, tmp_path: Path) -> None:
    """One process per core: a worker's CPU request and limit are its OpenMP and LiteRT threads."""
    if overlay != "base" and shutil.which("kubectl") is None:
        pytest.skip("the overlay's resource patch needs kubectl to render")
    docs = _kustomize(DEPLOY / "k8s" / overlay)
    settings = _configmap_settings(docs, tmp_path)
    (infer,) = [
        d["spec"]["template"]["spec"]["containers"][0]
        for d in docs
        if d["kind"] == "Deployment" and d["spec"]["template"]["spec"]["containers"][0]["args"][0] == "infer"
    ]
    threads = int({e["name"]: e["value"] for e in infer["env"]}["OMP_NUM_THREADS"])
    resources = infer["resources"]
    assert _cpus(resources["requests"]["cpu"]) == _cpus(resources["limits"]["cpu"]) == threads
    assert settings.analyzer.classifier.threads == threads


def test_each_release_gets_its_own_migration_job() -> None:
    if shutil.which("kubectl") is None:
        pytest.skip("kustomize replacements need kubectl to render")
    kust = yaml.safe_load((PRODUCTION / "kustomization.yaml").read_text())
    (tag,) = [i["newTag"] for i in kust["images"]]
    (job,) = [d for d in _kustomize(PRODUCTION) if d["kind"] == "Job"]
    assert job["metadata"]["name"] == f"maskwatch-migrate-{tag}"
    assert job["spec"]["template"]["spec"]["containers"][0]["image"].endswith(f":{tag}")
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", job["metadata"]["name"])  # a valid Job name
    assert job["spec"]["ttlSecondsAfterFinished"] > 0


# --- autoscaling on the lag of every camera


def _configured_cameras() -> list[str]:
    ids = {c.id for c in config_at(REPO / "configs" / "production.example.yaml").cameras}
    ids |= {c.id for c in config_at(DEPLOY / "k8s" / "base" / "maskwatch.yaml").cameras}
    return sorted(ids)


def test_keda_scales_inference_on_the_lag_of_every_camera(tmp_path: Path) -> None:
    from maskwatch.streams import FRAMES_PREFIX, INFERENCE_GROUP

    scaled = yaml.safe_load((PRODUCTION / "keda-infer.yaml").read_text())
    assert scaled["spec"]["scaleTargetRef"]["name"] == "maskwatch-infer"
    cameras = _configured_cameras()
    assert len(cameras) >= 2
    triggers = scaled["spec"]["triggers"]
    streams = {t["metadata"]["stream"] for t in triggers if t["type"] == "redis-streams"}
    for t in triggers:
        if t["type"] == "redis-streams":
            assert t["metadata"]["consumerGroup"] == INFERENCE_GROUP
    if streams:  # per-stream triggers must name every camera's stream
        assert {FRAMES_PREFIX + c for c in cameras} <= streams
        return
    (prom,) = [t for t in triggers if t["type"] == "prometheus"]
    query = prom["metadata"]["query"]
    assert METRIC.findall(query) == ["maskwatch_frames_backlog"] and "camera=" not in query
    # Every worker reports every stream: the query must count each camera once, and every camera.
    promtool = shutil.which("promtool")
    if promtool is None:
        assert re.fullmatch(r"sum\(\s*max by \(camera\) \(maskwatch_frames_backlog\)\s*\)", query), query
        return
    series, total = [], 0
    for i, camera in enumerate(cameras):
        lag = 10 * (i + 1)
        total += lag
        for worker, seen in (("w1", lag), ("w2", lag - 3)):  # w2 reported a moment earlier
            series.append(
                {"series": f'maskwatch_frames_backlog{{camera="{camera}",instance="{worker}"}}', "values": f"{seen}x5"}
            )
    check = {
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "promql_expr_test": [
                    {"expr": query, "eval_time": "4m", "exp_samples": [{"labels": "{}", "value": total}]}
                ],
            }
        ]
    }
    (tmp_path / "keda.test.yml").write_text(yaml.safe_dump(check))
    run = subprocess.run([promtool, "test", "rules", str(tmp_path / "keda.test.yml")], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


# --- metrics, dashboard, alerting rules


def _exported_metric_names() -> set[str]:
    from prometheus_client import REGISTRY

    import maskwatch.metrics  # noqa: F401 - registers the metrics

    # Every series name registered, suffixes included (_total, _bucket, _sum, _count).
    return set(REGISTRY._names_to_collectors)


def _camera_metrics() -> set[str]:
    from prometheus_client import REGISTRY

    import maskwatch.metrics  # noqa: F401

    return {n for n, c in REGISTRY._names_to_collectors.items() if "camera" in getattr(c, "_labelnames", ())}


def test_grafana_dashboard_uses_only_exported_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    exported = _exported_metric_names()
    used = {
        name for panel in dashboard["panels"] for target in panel["targets"] for name in METRIC.findall(target["expr"])
    }
    assert used and used <= exported, sorted(used - exported)


def test_grafana_per_camera_panels_follow_the_camera_selector() -> None:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    (camera,) = [v for v in dashboard["templating"]["list"] if v["name"] == "camera"]
    assert camera["multi"] and camera["includeAll"]
    assert METRIC.findall(json.dumps(camera["query"]))[0] in _camera_metrics()
    per_camera = [t for p in dashboard["panels"] for t in p["targets"] if "{{camera}}" in t.get("legendFormat", "")]
    assert len(per_camera) >= 8
    for target in per_camera:
        for name in METRIC.findall(target["expr"]):
            assert re.search(rf'{name}\{{camera=~"\$camera"\}}', target["expr"]), target["expr"]


def _rules() -> list[dict[str, Any]]:
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


def test_alerting_rules_cover_what_an_operator_must_know() -> None:
    rules = _rules()
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["labels"]["severity"] in ("warning", "critical") and rule["annotations"]["summary"]
    names = {r["alert"] for r in rules}
    assert {
        "MaskwatchCameraOffline",
        "MaskwatchStageMissing",
        "MaskwatchProcessDown",
        "MaskwatchDependencyOutage",
        "MaskwatchQueueLagGrowing",
        "MaskwatchFramesDropped",
        "MaskwatchAlertsDeadLettered",
        "MaskwatchAlertDeliveryFailing",
    } <= names
    exported = _exported_metric_names()
    used = {n for r in rules for n in METRIC.findall(r["expr"])}
    assert used <= exported, sorted(used - exported)
    assert {"maskwatch_outage", "maskwatch_camera_up", "maskwatch_frames_backlog"} <= used
    # A "stage missing" alert for every stage the manifests run with metrics.
    stages = {
        d["spec"]["template"]["spec"]["containers"][0]["args"][0]
        for d in _kustomize(DEPLOY / "k8s" / "base")
        if d["kind"] == "Deployment"
        and any(p["name"] == "metrics" for p in d["spec"]["template"]["spec"]["containers"][0]["ports"])
    }
    missing = {r["labels"]["stage"] for r in rules if r["alert"] == "MaskwatchStageMissing"}
    assert missing == stages == {"ingest", "infer", "record", "alerts"}
    for rule in rules:
        if rule["alert"] == "MaskwatchStageMissing":
            assert f'stage="{rule["labels"]["stage"]}"' in rule["expr"]


def test_the_prometheus_rule_holds_the_same_rules() -> None:
    custom = yaml.safe_load((PRODUCTION / "prometheus-rules.yaml").read_text())
    assert custom["kind"] == "PrometheusRule"
    assert custom["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]
    monitor = yaml.safe_load((PRODUCTION / "podmonitor.yaml").read_text())
    # The rules select job="maskwatch" and a `stage` label: the PodMonitor must produce both.
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/name"
    assert monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "maskwatch"
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "metrics"
    (relabel,) = endpoint["relabelings"]
    assert relabel["targetLabel"] == "stage"
    assert relabel["sourceLabels"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_component"]


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (Debian: apt-get install prometheus)"
)
def test_promtool_accepts_the_rules_and_their_tests_pass() -> None:
    check = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    tests = subprocess.run(
        ["promtool", "test", "rules", "maskwatch-rules.test.yml"], cwd=RULES.parent, capture_output=True, text=True
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr


@pytest.mark.parametrize(
    ("unit", "instances"),
    [("maskwatch@.service", ["ingest", "record", "alerts", "serve"]), ("maskwatch-infer@.service", ["1", "2"])],
)
def test_systemd_units_run_real_commands(unit: str, instances: list[str]) -> None:
    """Every instance the units' own comments tell an operator to enable runs a real command."""
    text = (DEPLOY / "systemd" / unit).read_text()
    for instance in instances:
        assert f"@{instance}" in text  # named in the unit's instructions
        for line in re.findall(r"^Exec(?:Start|StartPre)=(.*)$", text, re.M):
            assert_maskwatch_command([a.replace("%i", instance) for a in line.split()[1:]])
