"""Settings read from the environment: the MQTT broker's TLS settings and their port."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from signalight.settings import Settings


@pytest.fixture
def pem(tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    path.write_text("not read here: the CLI loads it\n")
    return path


def test_plain_mqtt_on_1883_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIGNALIGHT_MQTT_PORT", raising=False)
    settings = Settings()
    assert not settings.mqtt_tls_on
    assert settings.mqtt_effective_port == 1883


def test_a_tls_file_turns_tls_on_and_the_port_to_8883(
    monkeypatch: pytest.MonkeyPatch, pem: Path
) -> None:
    monkeypatch.setenv("SIGNALIGHT_MQTT_TLS_CA", str(pem))
    settings = Settings()
    assert settings.mqtt_tls_on
    assert settings.mqtt_effective_port == 8883
    monkeypatch.setenv("SIGNALIGHT_MQTT_PORT", "18883")
    assert Settings().mqtt_effective_port == 18883


def test_tls_with_the_systems_cas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIGNALIGHT_MQTT_TLS", "true")
    settings = Settings()
    assert settings.mqtt_tls_on
    assert settings.mqtt_tls_ca is None
    assert settings.mqtt_effective_port == 8883


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SIGNALIGHT_MQTT_TLS": "false", "SIGNALIGHT_MQTT_TLS_CA": "{pem}"}, "is false, yet"),
        ({"SIGNALIGHT_MQTT_TLS_KEY": "{pem}"}, "without SIGNALIGHT_MQTT_TLS_CERT"),
        ({"SIGNALIGHT_MQTT_TLS_CA": "{missing}"}, "does not point to a file"),
    ],
)
def test_contradictions_and_missing_files_are_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
    pem: Path,
    tmp_path: Path,
    env: dict[str, str],
    message: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value.format(pem=pem, missing=tmp_path / "missing.pem"))
    with pytest.raises(ValidationError, match=message):
        Settings()
