"""Static checks of the container deployment: docker-compose.yml, deploy/nginx.conf, Dockerfile.

Nothing is built or started; the files are parsed and checked for the properties the
deployment relies on (service ordering, replicas, settings names, proxy streaming).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"
NGINX_CONF_TARGET = "/etc/nginx/nginx.conf"

# Environment variable names the Parley settings understand.
KNOWN_SETTINGS = frozenset(
    {
        "DATABASE_URL",
        "REDIS_URL",
        "PARLEY_ENV",
        "PARLEY_SECRET_KEY",
        "PARLEY_ALLOWED_ORIGINS",
        "PARLEY_DATA_DIR",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "OPENAI_MODEL",
        "PARLEY_LOG_LEVEL",
        "PARLEY_LOG_FORMAT",
        "PARLEY_METRICS_TOKEN",
    }
)


def _compose() -> dict[str, Any]:
    """Parse docker-compose.yml (YAML anchors and `<<` merge keys are resolved)."""
    data = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "docker-compose.yml must be a YAML mapping"
    return data


def _services() -> dict[str, Any]:
    services = _compose().get("services")
    assert isinstance(services, dict), "docker-compose.yml has no `services` mapping"
    return services


def _service(name: str) -> dict[str, Any]:
    services = _services()
    assert name in services, f"service {name!r} missing from docker-compose.yml"
    service = services[name]
    assert isinstance(service, dict), f"service {name!r} must be a mapping"
    return service


def _environment(service: dict[str, Any]) -> dict[str, str | None]:
    """Normalise `environment` (mapping or list of KEY[=VALUE]) to a dict."""
    env = service.get("environment") or {}
    if isinstance(env, dict):
        return {str(k): None if v is None else str(v) for k, v in env.items()}
    result: dict[str, str | None] = {}
    for item in env:
        key, sep, value = str(item).partition("=")
        result[key] = value if sep else None
    return result


def _depends_on(service: dict[str, Any]) -> dict[str, str]:
    """Normalise `depends_on` (list or long syntax) to {service: condition}."""
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return {str(name): "service_started" for name in deps}
    return {
        str(name): str((spec or {}).get("condition", "service_started"))
        for name, spec in deps.items()
    }


def _nginx_conf_path() -> Path:
    """Host path of the file the proxy service mounts as the nginx main config."""
    for volume in _service("proxy").get("volumes") or []:
        if isinstance(volume, dict):
            source, target = volume.get("source"), volume.get("target")
        else:
            source, target, *_ = str(volume).split(":")
        if target == NGINX_CONF_TARGET and source:
            return (COMPOSE_FILE.parent / str(source)).resolve()
    raise AssertionError(f"proxy service does not mount a file at {NGINX_CONF_TARGET}")


def test_core_services_exist() -> None:
    """The stack has its database, cache, migration job, API and proxy."""
    services = _services()
    missing = {"postgres", "redis", "migrate", "api", "proxy"} - services.keys()
    assert not missing, f"services missing from docker-compose.yml: {sorted(missing)}"


def test_api_runs_at_least_two_replicas() -> None:
    """api is horizontally scaled, which exercises the Redis fan-out between instances."""
    replicas = (_service("api").get("deploy") or {}).get("replicas")
    assert isinstance(replicas, int), "api must set deploy.replicas"
    assert replicas >= 2, f"api deploy.replicas is {replicas}, expected >= 2"


def test_api_is_only_reachable_through_proxy() -> None:
    """Replicas cannot share a host port; traffic enters through the proxy."""
    assert not _service("api").get("ports"), "api must not publish ports (use the proxy)"
    assert _service("proxy").get("ports"), "proxy must publish a port"


def test_api_waits_for_successful_migration() -> None:
    """api starts only after `migrate` has exited with status 0."""
    deps = _depends_on(_service("api"))
    assert deps.get("migrate") == "service_completed_successfully", (
        f"api must depend on migrate with condition service_completed_successfully, got {deps}"
    )


def test_migrate_waits_for_healthy_postgres_and_redis() -> None:
    """Migrations run only once the database and Redis pass their health checks."""
    migrate = _service("migrate")
    deps = _depends_on(migrate)
    for name in ("postgres", "redis"):
        assert deps.get(name) == "service_healthy", (
            f"migrate must depend on {name} with condition service_healthy, got {deps}"
        )
        assert _service(name).get("healthcheck"), f"{name} needs a healthcheck for service_healthy"
    assert str(migrate.get("restart", "no")) == "no", "migrate is a one-shot job: restart 'no'"


def test_api_environment_only_uses_known_settings() -> None:
    """Every variable set on api is one the settings read (catches typos and stale names)."""
    env = _environment(_service("api"))
    assert env, "api sets no environment"
    unknown = set(env) - KNOWN_SETTINGS
    assert not unknown, f"api sets variables unknown to the settings: {sorted(unknown)}"
    for required in ("DATABASE_URL", "REDIS_URL", "PARLEY_SECRET_KEY"):
        assert env.get(required), f"api must set {required} (nothing embedded starts otherwise)"


def test_api_database_url_points_at_postgres_service() -> None:
    """DATABASE_URL uses the asyncpg driver and the compose `postgres` service as host."""
    url = _environment(_service("api")).get("DATABASE_URL") or ""
    parts = urlsplit(url)
    assert parts.scheme == "postgresql+asyncpg", (
        f"DATABASE_URL must use postgresql+asyncpg, got {parts.scheme!r}"
    )
    assert parts.hostname == "postgres", (
        f"DATABASE_URL must point at the postgres service, got host {parts.hostname!r}"
    )
    assert "postgres" in _services(), "DATABASE_URL host has no matching service"


def test_api_redis_url_points_at_redis_service() -> None:
    """REDIS_URL points at the compose `redis` service."""
    url = _environment(_service("api")).get("REDIS_URL") or ""
    parts = urlsplit(url)
    assert parts.scheme == "redis", f"REDIS_URL must use redis://, got {parts.scheme!r}"
    assert parts.hostname == "redis", f"REDIS_URL must point at redis, got {parts.hostname!r}"


def test_nginx_conf_supports_websocket_and_streaming() -> None:
    """The mounted nginx.conf exists, upgrades WebSockets and does not buffer SSE."""
    path = _nginx_conf_path()
    assert path.is_file(), f"nginx config mounted by proxy does not exist: {path}"
    conf = path.read_text(encoding="utf-8")
    for needle in ("proxy_buffering off", "Upgrade", "proxy_http_version 1.1"):
        assert needle in conf, f"{path.name} lacks {needle!r}"


def test_dockerfile_is_multi_stage_and_non_root() -> None:
    """The image is built in >= 2 stages and its final USER is not root."""
    lines = [line.strip() for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()]
    stages = [line for line in lines if re.match(r"(?i)^FROM\s", line)]
    assert len(stages) >= 2, f"Dockerfile must be multi-stage, found {len(stages)} FROM line(s)"
    users = [line.split(None, 1)[1] for line in lines if re.match(r"(?i)^USER\s+\S", line)]
    assert users, "Dockerfile must set a USER"
    user = users[-1].split(":", 1)[0]
    assert user not in {"root", "0"}, f"Dockerfile final USER must not be root, got {user!r}"


# --- the `observability` profile ------------------------------------------------------------

DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "dashboards" / "parley.json"
PROMETHEUS_CONF = REPO_ROOT / "deploy" / "prometheus.yml"


def _mounts(service: dict[str, Any]) -> dict[str, Path]:
    """{container target: host path} of a service's bind mounts (named volumes left out)."""
    found: dict[str, Path] = {}
    for volume in service.get("volumes") or []:
        source, target, *_ = str(volume).split(":")
        if source.startswith("."):
            found[target] = (COMPOSE_FILE.parent / source).resolve()
    return found


def exposed_sample_names() -> set[str]:
    """Every sample name Parley's instruments can expose (counter `_total`, histogram
    `_bucket`/`_sum`/`_count`, gauge as is), read off the instruments themselves."""
    from prometheus_client.metrics import MetricWrapperBase

    from domain import metrics

    names: set[str] = set()
    for value in vars(metrics).values():
        if not isinstance(value, MetricWrapperBase):
            continue
        for family in value.describe():
            kind = family.type
            if kind == "counter":
                names.add(family.name + "_total")
            elif kind == "histogram":
                names |= {family.name + s for s in ("_bucket", "_sum", "_count")}
            else:
                names.add(family.name)
    return names


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))  # valid JSON, or this fails
    assert dashboard["uid"] and dashboard["title"] == "Parley"
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert exprs, "the dashboard has no queries"
    return exprs


def test_observability_profile_runs_prometheus_and_grafana_only_on_request() -> None:
    for name in ("prometheus", "grafana"):
        assert _service(name).get("profiles") == ["observability"]
    prometheus, grafana = _service("prometheus"), _service("grafana")
    assert _mounts(prometheus)["/etc/prometheus/prometheus.yml"] == PROMETHEUS_CONF
    provisioning = _mounts(grafana)["/etc/grafana/provisioning"]
    assert (provisioning / "datasources" / "prometheus.yml").is_file()
    assert (provisioning / "dashboards" / "parley.yml").is_file()
    assert _mounts(grafana)["/var/lib/grafana/dashboards"] == DASHBOARD.parent
    for port in grafana.get("ports") or []:
        assert str(port).startswith("127.0.0.1:"), "Grafana is for operators: localhost only"


def test_metrics_are_token_protected_and_prometheus_sends_the_token() -> None:
    api_env = _environment(_service("api"))
    assert str(api_env.get("PARLEY_METRICS_TOKEN")).startswith("${PARLEY_METRICS_TOKEN:?")
    compose = _compose()
    token = compose["configs"]["parley_metrics_token"]["content"]
    assert token == api_env["PARLEY_METRICS_TOKEN"]
    targets = {c["source"]: c["target"] for c in _service("prometheus")["configs"]}
    conf = yaml.safe_load(PROMETHEUS_CONF.read_text(encoding="utf-8"))
    (job,) = conf["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["credentials_file"] == targets["parley_metrics_token"]
    # Every replica directly (not the round-robin proxy: a scrape must see each replica).
    (sd,) = job["dns_sd_configs"]
    assert sd["names"] == ["api"] and sd["port"] == 8000


def test_the_dashboard_queries_only_metrics_that_exist() -> None:
    exposed = exposed_sample_names()
    used = {name for expr in _dashboard_exprs() for name in re.findall(r"\bparley_\w+", expr)}
    unknown = used - exposed
    assert not unknown, f"the dashboard queries metrics Parley does not expose: {unknown}"


def test_the_dashboard_shows_every_metric_parley_exposes() -> None:
    used = {name for expr in _dashboard_exprs() for name in re.findall(r"\bparley_\w+", expr)}
    families = {re.sub(r"_(total|bucket|sum|count)$", "", n) for n in exposed_sample_names()}
    shown = {re.sub(r"_(total|bucket|sum|count)$", "", n) for n in used}
    assert families <= shown, f"metrics with no panel: {sorted(families - shown)}"
