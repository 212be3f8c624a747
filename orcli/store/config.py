"""Settings resolved from flags > environment > config file > defaults.

`resolve_settings` is pure: it takes the flags, the environment and the parsed
config file, and records where each value came from (for `--debug`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from orcli.errors import ConfigError, OrcliError, UsageError

DEFAULT_MODEL = "mistralai/devstral-2512"
DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
DEFAULT_APP_URL = "https://github.com/orcli/orcli"

DEFAULTS: dict[str, Any] = {
    "api_key": None,
    "base_url": DEFAULT_BASE_URL,
    "model": DEFAULT_MODEL,
    "timeout": 600.0,
    "retries": 2,
    "app_title": "orcli",
    "app_url": DEFAULT_APP_URL,
    "ledger": True,
    "budget_daily": None,
    "budget_monthly": None,
}

ENV_NAMES = {
    "api_key": "OPENROUTER_API_KEY",
    "base_url": "OPENROUTER_BASE_URL",
    "model": "ORCLI_MODEL",
    "timeout": "ORCLI_TIMEOUT",
    "retries": "ORCLI_RETRIES",
    # ORCLI_LEDGER is a path or "off", read by orcli.store.ledger, not a setting here.
    "budget_daily": "ORCLI_BUDGET_DAILY",
    "budget_monthly": "ORCLI_BUDGET_MONTHLY",
}

# The longest deadline orcli accepts: past about 3e8 s the socket layer overflows.
MAX_TIMEOUT = 1_000_000.0


def _seconds(value: Any) -> float:
    """A number of seconds from TOML (int or float) or text (a plain decimal)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(value)
    if isinstance(value, str) and "_" in value:
        raise ValueError(value)  # float() would read "1_0" as 10
    return float(value)


def _count(value: Any) -> int:
    """A whole number from TOML (an int, not 1.5 or true) or text of digits."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(value)
    if isinstance(value, str) and not value.strip().lstrip("+-").isdigit():
        raise ValueError(value)  # int() would read "1_0" as 10
    return int(value)


def _flag(value: Any) -> bool:
    """A TOML boolean (true/false), nothing else."""
    if not isinstance(value, bool):
        raise ValueError(value)
    return value


def _usd(value: Any) -> Decimal:
    """Dollars from TOML (a number or a string) or text, as Decimal, never through float math."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(value)
    text = str(value).strip().lstrip("$")  # str() of a float is its shortest exact repr
    try:
        if "_" in text:  # Decimal reads "0_05" as 5
            raise InvalidOperation
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(value) from None
    if not amount.is_finite() or amount < 0:
        raise ValueError(value)
    return amount


# How each setting's value becomes a typed one; a failure names its source.
_PARSERS: dict[str, Callable[[Any], Any]] = {
    "api_key": str,
    "base_url": str,
    "model": str,
    "timeout": _seconds,
    "retries": _count,
    "app_title": str,
    "app_url": str,
    "ledger": _flag,
    "budget_daily": _usd,
    "budget_monthly": _usd,
}


class Settings(Struct, frozen=True):
    api_key: str | None
    base_url: str
    model: str
    timeout: float
    retries: int
    app_title: str
    app_url: str
    ledger: bool = True
    budget_daily: Decimal | None = None  # USD per UTC day, kept with the ledger
    budget_monthly: Decimal | None = None
    sources: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        # Keeps the key out of tracebacks and debug output.
        shown = {k: getattr(self, k) for k in DEFAULTS if k != "api_key"}
        return f"Settings(api_key={'<set>' if self.api_key else None}, {shown})"


def config_path(env: Mapping[str, str]) -> Path:
    """Where the config file lives: $ORCLI_CONFIG, else the XDG config dir."""
    if env.get("ORCLI_CONFIG"):
        return Path(env["ORCLI_CONFIG"])
    base = env.get("XDG_CONFIG_HOME") or str(home_dir(env) / ".config")
    return Path(base) / "orcli" / "config.toml"


# A config file holds a few short settings; anything larger is not one.
CONFIG_SIZE_LIMIT = 1024 * 1024


class NotARegularFile(ValueError):
    """A path that is a FIFO, a device, a directory, or too large to be read whole."""


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes, read without blocking.

    Opened with O_NONBLOCK and checked with fstat before any read, so a FIFO never
    blocks and /dev/zero is never read; /dev/null reads as empty (a common way to
    say "no file"). FileNotFoundError when absent; NotARegularFile naming the problem.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            if stat.S_ISCHR(info.st_mode) and _is_devnull(info):
                return b""
            raise NotARegularFile(f"is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise NotARegularFile(f"is larger than {limit:,} bytes ({info.st_size:,})")
        chunks, size = [], 0
        while chunk := os.read(fd, min(limit + 1 - size, 1 << 20) or 1):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:  # it grew while being read
                raise NotARegularFile(f"is larger than {limit:,} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _is_devnull(info: os.stat_result) -> bool:
    try:
        return info.st_rdev == os.stat(os.devnull).st_rdev
    except OSError:
        return False


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def load_config_file(path: Path, warn: Callable[[str], None]) -> dict[str, Any]:
    """Parse the TOML config file; a missing file is an empty config."""
    try:
        raw = read_regular_file(path, CONFIG_SIZE_LIMIT)
    except FileNotFoundError:
        return {}
    except NotARegularFile as exc:
        raise ConfigError(f"config file {path} {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    import tomllib  # only when there is a file to parse

    try:
        values = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"config file {path} is nested too deeply to be a config") from None
    unknown = sorted(set(values) - set(DEFAULTS))
    if unknown:
        known = ", ".join(DEFAULTS)
        raise ConfigError(f"config file {path}: unknown key '{unknown[0]}' (known keys: {known})")
    if "api_key" in values and _readable_by_others(path):
        warn(f"orcli: warning: {path} holds api_key and other users can read it (chmod 600 it)")
    return values


def _readable_by_others(path: Path) -> bool:
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRGRP | stat.S_IROTH))


def resolve_settings(
    flags: Mapping[str, Any], env: Mapping[str, str], file_values: Mapping[str, Any], file: str
) -> Settings:
    """Merge flags > environment > config file > defaults into Settings."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, default in DEFAULTS.items():
        value, source = _pick(key, flags, env, file_values, file)
        values[key] = _parse(key, value, source) if value is not None else default
        sources[key] = source if value is not None else "default"
    values["base_url"] = values["base_url"].rstrip("/")
    _check_ranges(values, sources)
    return Settings(**values, sources=sources)


def _pick(
    key: str, flags: Mapping[str, Any], env: Mapping[str, str], file_values: Mapping[str, Any],
    file: str,
) -> tuple[Any, str]:
    if flags.get(key) is not None:
        return flags[key], "flag"
    env_name = ENV_NAMES.get(key)
    if env_name and env.get(env_name, "") != "":
        return env[env_name], f"environment variable {env_name}"
    if file_values.get(key) is not None:
        return file_values[key], f"config file {file}"
    return None, "default"


def _parse(key: str, value: Any, source: str) -> Any:
    parser = _PARSERS[key]
    if parser is str and not isinstance(value, str):
        raise ConfigError(f"{key} from {source} must be a string")
    if isinstance(value, str) and not _is_utf8(value):
        # Python hands undecodable environment bytes over as lone surrogates.
        raise _bad_value(source, f"{key} is not valid UTF-8")
    if parser in (_seconds, _count) and isinstance(value, str) and source.startswith("config file"):
        # TOML has numbers; a quoted "3" in the file is a mistake worth naming.
        raise ConfigError(f"{key} from {source} must be a number, not the string {value!r}")
    try:
        return parser(value)
    except (TypeError, ValueError):
        kind = _KINDS.get(parser, "a number of seconds")
        raise _bad_value(source, f"{key} must be {kind}, not {value!r}") from None


_KINDS: dict[Callable[[Any], Any], str] = {
    _count: "a whole number", _flag: "true or false", _usd: "a dollar amount like 0.50"}


def _check_ranges(values: dict[str, Any], sources: Mapping[str, str]) -> None:
    if not 0 < values["timeout"] <= MAX_TIMEOUT:  # also false for NaN
        raise _bad_value(sources["timeout"],
                         f"--timeout/timeout must be more than 0 and at most {MAX_TIMEOUT:.0f} s")
    if values["retries"] < 0:
        raise _bad_value(sources["retries"], "--retries/retries must be 0 or more")
    if not values["model"].strip():
        raise _bad_value(sources["model"], "the model id must not be empty")
    if not values["base_url"].startswith(("http://", "https://")):
        raise _bad_value(sources["base_url"], "base URL must start with http:// or https://")
    if "?" in values["base_url"] or "#" in values["base_url"]:
        # "/chat/completions" is appended to it: after a query or fragment it would be lost.
        raise _bad_value(sources["base_url"], "base URL must not have a ?query or #fragment")


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad_value(source: str, problem: str) -> OrcliError:
    # A bad flag is a usage error (2); a bad environment or file value is configuration (3).
    if source == "flag":
        return UsageError(problem)
    return ConfigError(f"{problem} (from {source})")


def load_settings(
    flags: Mapping[str, Any], env: Mapping[str, str], warn: Callable[[str], None]
) -> Settings:
    """Read the config file named by the environment and resolve the settings."""
    path = config_path(env)
    return resolve_settings(flags, env, load_config_file(path, warn), str(path))


def home_dir(env: Mapping[str, str]) -> Path:
    """The user's home, from the given environment rather than the process's."""
    return Path(env.get("HOME") or os.path.expanduser("~"))
