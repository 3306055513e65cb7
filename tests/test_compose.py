"""No Docker engine runs here, so the compose file is checked against the code by reading it: its
services, the one image, the commands (against the CLI's own options), the environment (against
the settings, interpolated as compose would), and the example Prometheus set-up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from app.cli import cli
from app.config import RecordingsStorage, Settings

ROOT = Path(__file__).resolve().parent.parent
_VARIABLE = re.compile(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}")


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def _services() -> dict[str, Any]:
    services: dict[str, Any] = _compose()["services"]
    return services


def _prometheus() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    return data


def _interpolated(environment: dict[str, str], given: dict[str, str]) -> dict[str, str]:
    """The environment as compose hands it to the container: ``given`` variables set, the rest
    at their ``:-`` default (a required ``:?`` one must be given)."""

    def value(match: re.Match[str]) -> str:
        name, kind, default = match.groups()
        if name in given:
            return given[name]
        assert kind != ":?", f"{name} is required and not given"
        return default or ""

    return {key: _VARIABLE.sub(value, str(raw)) for key, raw in environment.items()}


SECRETS = {
    "POSTGRES_PASSWORD": "pg-password",
    "CALLFUNNEL_BOOTSTRAP_ADMIN_KEY": "k" * 40,
    "CALLFUNNEL_SECRET_KEY": "s" * 40,
    "CALLFUNNEL_METRICS_TOKEN": "m" * 40,
}


def _settings_of(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def test_services_and_healthchecks() -> None:
    services = _services()
    assert {"postgres", "api", "worker", "prometheus"} <= set(services)
    for name in ("postgres", "api", "prometheus", "minio"):
        assert "test" in services[name]["healthcheck"], name
    # The image's own check asks for /healthz, which the worker does not serve.
    assert services["worker"]["healthcheck"] == {"disable": True}
    assert services["api"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["worker"]["depends_on"]["api"]["condition"] == "service_healthy"
    assert services["prometheus"]["depends_on"]["api"]["condition"] == "service_healthy"


def test_one_image_for_every_role() -> None:
    services = _services()
    api, worker = services["api"], services["worker"]
    assert api["build"] == worker["build"] == "."
    assert api["image"] == worker["image"]


def test_the_api_runs_two_processes_and_leaves_downloads_to_the_worker() -> None:
    services = _services()
    command = services["api"]["command"]
    assert command[:2] == ["callfunnel", "serve"]
    assert command[command.index("--workers") + 1] == "2"
    assert "--no-worker" in command
    assert services["worker"]["command"] == ["callfunnel", "worker"]
    assert services["worker"]["environment"] == services["api"]["environment"]
    assert services["worker"]["volumes"] == services["api"]["volumes"]


@pytest.mark.parametrize("service", ["api", "worker"])
def test_commands_use_real_options(service: str) -> None:
    program, name, *arguments = _services()[service]["command"]
    click_command = typer.main.get_command(cli).commands[name]  # type: ignore[attr-defined]
    options = {
        option
        for param in click_command.params
        for option in [*param.opts, *getattr(param, "secondary_opts", [])]
    }
    assert program == "callfunnel"
    assert {arg for arg in arguments if arg.startswith("--")} <= options


def test_environment_names_real_settings_and_aws_credentials() -> None:
    env = _services()["api"]["environment"]
    known = {f"CALLFUNNEL_{name.upper()}" for name in Settings.model_fields}
    ours = {key for key in env if key.startswith("CALLFUNNEL_")}
    assert ours <= known, ours - known
    assert set(env) - ours == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    for needed in ("SECRET_KEY", "METRICS_TOKEN", "RECORDINGS_STORAGE", "S3_BUCKET", "S3_PREFIX"):
        assert f"CALLFUNNEL_{needed}" in env


def test_the_defaults_are_production_settings_with_local_recordings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = _interpolated(_services()["api"]["environment"], SECRETS)

    settings = _settings_of(env, monkeypatch)

    assert settings.env == "production"
    assert settings.database_url == (
        "postgresql+asyncpg://callfunnel:pg-password@postgres:5432/callfunnel"
    )
    assert settings.recordings_storage is RecordingsStorage.LOCAL
    assert (settings.s3_bucket, settings.s3_endpoint_url, settings.s3_region) == (None,) * 3
    assert settings.metrics_token is not None
    assert settings.metrics_token.get_secret_value() == "m" * 40


def test_the_minio_profile_gives_s3_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    services = _services()
    given = {
        **SECRETS,
        "CALLFUNNEL_RECORDINGS_STORAGE": "s3",
        "CALLFUNNEL_S3_BUCKET": "callfunnel-recordings",
        "CALLFUNNEL_S3_ENDPOINT_URL": "http://minio:9000",
        "AWS_ACCESS_KEY_ID": "callfunnel",
    }
    env = _interpolated(services["api"]["environment"], given)

    settings = _settings_of(env, monkeypatch)

    assert settings.recordings_storage is RecordingsStorage.S3
    assert settings.s3_bucket == "callfunnel-recordings"
    assert env["AWS_ACCESS_KEY_ID"] == "callfunnel"
    # The bucket the setup job makes is the one the API uses, and the API waits for it.
    setup = _interpolated(services["minio-bucket"]["environment"], given)
    assert setup["BUCKET"] == settings.s3_bucket
    assert services["minio"]["profiles"] == services["minio-bucket"]["profiles"] == ["minio"]
    assert services["api"]["depends_on"]["minio-bucket"] == {
        "condition": "service_completed_successfully",
        "required": False,
    }


def test_prometheus_scrapes_the_api_with_the_metrics_token() -> None:
    compose = _compose()
    prometheus = compose["services"]["prometheus"]
    mounts = dict(volume.split(":")[:2] for volume in prometheus["volumes"])
    assert f"--config.file={mounts['./deploy/prometheus.yml']}" in prometheus["command"]
    [job] = _prometheus()["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    [target] = job["static_configs"][0]["targets"]
    host, port = target.split(":")
    command = compose["services"]["api"]["command"]
    assert (host, port) == ("api", command[command.index("--port") + 1])
    # The token file is the compose secret made from the same variable the API reads.
    assert prometheus["secrets"] == ["metrics_token"]
    assert compose["secrets"]["metrics_token"] == {"environment": "CALLFUNNEL_METRICS_TOKEN"}
    assert job["authorization"] == {
        "type": "Bearer",
        "credentials_file": "/run/secrets/metrics_token",
    }


def test_the_prometheus_files_exist_and_alert_on_real_metrics() -> None:
    mounts = dict(volume.split(":")[:2] for volume in _services()["prometheus"]["volumes"])
    for source in ("./deploy/prometheus.yml", "./deploy/alerts.yml"):
        assert (ROOT / source).is_file(), source
    assert _prometheus()["rule_files"] == [mounts["./deploy/alerts.yml"]]
    rules = yaml.safe_load((ROOT / "deploy" / "alerts.yml").read_text())["groups"][0]["rules"]
    exported = "".join(path.read_text() for path in (ROOT / "app" / "telemetry").glob("*.py"))
    for rule in rules:
        for metric in re.findall(r"callfunnel_\w+", rule["expr"]):
            family = re.sub(r"_(bucket|sum|count)$", "", metric)
            assert f'"{family}"' in exported, (rule["alert"], metric)


def test_dockerfile_ships_migrations() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for needed in ("COPY migrations", "alembic.ini", "callfunnel", "serve"):
        assert needed in dockerfile
