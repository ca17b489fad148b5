"""Deployment settings: a TOML file, ``<home>/config.toml`` or the file named by ``CUSTODIET_CONFIG``.

Everything here can also be given by an environment variable, which wins over the file::

    [ledger]
    signing_key_file = "/etc/custodiet/ledger-signing.pem"   # CUSTODIET_SIGNING_KEY_FILE (Ed25519, PEM)
    trust_file = "/etc/custodiet/ledger-trust.pem"           # CUSTODIET_TRUST_FILE: the pinned public key

    [ledger.pkcs11]                                          # a signing key on a PKCS#11 token instead
    module = "/usr/lib/softhsm/libsofthsm2.so"               # CUSTODIET_PKCS11_MODULE
    token = "custodiet"                                      # CUSTODIET_PKCS11_TOKEN (token label)
    pin_file = "/etc/custodiet/pkcs11.pin"                   # or pin = "…"; CUSTODIET_PKCS11_PIN
    key_label = "custodiet-ledger"                           # CUSTODIET_PKCS11_KEY_LABEL

    [canary.prefix]                                          # the blocks the operator reserved for canaries
    msisdn = "…"
    nid = "…"
    imei = "…"

    [interception]                                           # how interception oversight judges tasks
    grace_seconds = 3600                                     # a Deactivate this late after valid_to is no error
    stretch_factor = 4                                       # tasks a warrant may carry per listed target

The trust file must lie outside the store: a key pinned inside it is one its operators could replace.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_ENV = "CUSTODIET_CONFIG"
CONFIG_NAME = "config.toml"


class ConfigError(ValueError):
    """The configuration cannot be read or holds a value of the wrong kind; the message names the file."""


@dataclass(frozen=True)
class Config:
    """The parsed settings (``data``) and the file they came from (None when there is no file)."""

    path: Path | None
    data: dict[str, Any] = field(default_factory=dict)

    def get(self, section: str, key: str, env: str | None = None) -> str | None:
        """A text setting: the environment variable ``env`` if set, else ``[section] key`` (dotted section)."""
        if env and os.environ.get(env):
            return os.environ[env]
        table: Any = self.data
        for part in section.split("."):
            table = table.get(part, {}) if isinstance(table, dict) else {}
        value = table.get(key) if isinstance(table, dict) else None
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{self.path}: [{section}] {key} must be a string, found {value!r}")
        return value

    def number(self, section: str, key: str) -> float | None:
        """A numeric setting ``[section] key``, or None when it is not set."""
        table = self.data.get(section, {})
        value = table.get(key) if isinstance(table, dict) else None
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise ConfigError(f"{self.path}: [{section}] {key} must be a number >= 0, found {value!r}")
        return None if value is None else float(value)

    def path_setting(self, section: str, key: str, env: str | None = None) -> Path | None:
        """A file setting; a relative path is taken from the config file's folder."""
        value = self.get(section, key, env)
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.is_absolute() and self.path is not None and not (env and os.environ.get(env)):
            path = self.path.parent / path
        return path


def config_path(home: Path) -> Path:
    named = os.environ.get(CONFIG_ENV)
    return Path(named) if named else home / CONFIG_NAME


def load_config(home: Path) -> Config:
    """The store's settings; no file is an empty configuration (unless ``CUSTODIET_CONFIG`` names one)."""
    path = config_path(home)
    if not path.exists():
        if os.environ.get(CONFIG_ENV):
            raise ConfigError(f"{CONFIG_ENV} names {path}, which does not exist")
        return Config(None)
    try:
        return Config(path, tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from exc
