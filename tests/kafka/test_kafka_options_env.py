"""Client options from the environment: how a deployed replica gets its cluster's settings."""

from __future__ import annotations

import pytest

from headwater.errors import ConfigError
from headwater.kafka.settings import OPTIONS_ENV, KafkaSettings


def test_options_come_from_the_environment_unless_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(OPTIONS_ENV, '{"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN"}')
    settings = KafkaSettings("b:9093")
    assert settings.client_config()["security.protocol"] == "SASL_SSL"
    assert KafkaSettings("b:9093", {"client.id": "x"}).options == {"client.id": "x"}
    monkeypatch.delenv(OPTIONS_ENV)
    assert KafkaSettings("b:9093").options == {}


@pytest.mark.parametrize("text", ["not json", "[1, 2]"])
def test_bad_options_name_the_variable(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv(OPTIONS_ENV, text)
    with pytest.raises(ConfigError, match=OPTIONS_ENV):
        KafkaSettings("b:9093")
