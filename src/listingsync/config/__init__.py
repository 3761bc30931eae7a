"""``listingsync.yaml``: loading, ``${ENV}`` interpolation and errors that name file, line and key.

The file is parsed with PyYAML's composer so each value keeps its line; pydantic validates the
plain data; a validation error is then mapped back to the line of the offending key.
"""

from __future__ import annotations

import difflib
import os
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from listingsync.config import yamlnodes
from listingsync.config.account import AccountConfig, AccountType
from listingsync.config.listings import ListingsConfig
from listingsync.config.schedule import ScheduleConfig
from listingsync.config.source import SourceConfig
from listingsync.config.sync import SyncConfig
from listingsync.errors import ListingSyncError

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_STATE_URL",
    "AccountConfig",
    "AccountType",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "ListingsConfig",
    "ScheduleConfig",
    "SourceConfig",
    "SyncConfig",
    "load_config",
    "parse_config",
    "resolve_config_path",
]

DEFAULT_CONFIG_PATH = "listingsync.yaml"
DEFAULT_STATE_URL = "sqlite:///.listingsync/state.db"


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    account: AccountConfig
    source: SourceConfig | None = None
    state: str = DEFAULT_STATE_URL
    listings: ListingsConfig = Field(default_factory=ListingsConfig)
    sync: SyncConfig = Field(default_factory=SyncConfig)
    #: When ``listingsync serve`` runs this config as a connection (ignored by ``sync``).
    schedule: ScheduleConfig | None = None
    #: Directory of the config file: relative paths in it (source.path, sqlite state) resolve here.
    base_dir: Path = Field(default=Path("."), exclude=True)

    def resolve_path(self, path: str | Path) -> Path:
        p = Path(path).expanduser()
        return p if p.is_absolute() else self.base_dir / p


@dataclass(frozen=True)
class ConfigProblem:
    key: str
    message: str
    line: int | None = None

    def render(self, file: str) -> str:
        where = f"{file}:{self.line}" if self.line else file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(ListingSyncError):
    """The config file is missing, unreadable or invalid; lists every problem found."""

    def __init__(self, file: str, problems: list[ConfigProblem], fix: str | None = None) -> None:
        self.file = file
        self.problems = problems
        lines = "\n".join("  " + p.render(file) for p in problems)
        super().__init__(f"{file} is not usable:\n{lines}", fix=fix)


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def resolve_config_path(path: str | Path | None) -> Path:
    """``--config`` if given, else ``LISTINGSYNC_CONFIG``, else ``./listingsync.yaml``."""
    if path:
        return Path(path)
    return Path(os.environ.get("LISTINGSYNC_CONFIG") or DEFAULT_CONFIG_PATH)


def load_config(path: str | Path | None = None) -> Config:
    file = resolve_config_path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            str(file),
            [ConfigProblem("", "file not found")],
            fix="run 'listingsync connect' to write one, pass --config PATH, or set LISTINGSYNC_CONFIG",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(file), [ConfigProblem("", f"cannot read: {exc}")]) from None
    return parse_config(text, file=str(file), base_dir=file.resolve().parent)


def parse_config(text: str, *, file: str = DEFAULT_CONFIG_PATH, base_dir: Path | None = None) -> Config:
    try:
        node = yamlnodes.compose(text)
    except yamlnodes.RefusedYaml as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise ConfigError(file, [ConfigProblem("", str(exc.problem), line)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(file, [ConfigProblem("", f"not valid YAML: {problem}", line)]) from None
    if node is None or not isinstance(node, yaml.MappingNode):
        raise ConfigError(file, [ConfigProblem("", "expected a mapping with an 'account:' section", 1)])
    problems: list[ConfigProblem] = []
    data = _to_python(node, problems, ())
    if problems:
        raise ConfigError(file, problems)
    if "listings_file" in data:
        data = _include_listings(data, node, file, base_dir or Path("."))
    try:
        return Config.model_validate({**data, "base_dir": base_dir or Path(".")})
    except ValidationError as exc:
        found = [_problem(err, node) for err in exc.errors()]
        raise ConfigError(file, sorted(found, key=lambda p: p.line or 0)) from None


def _include_listings(data: dict[str, Any], node: yaml.Node, file: str, base_dir: Path) -> dict[str, Any]:
    """``listings_file: mapping.yaml``: the ``listings:`` section lives in another file (such as the
    one ``mapping suggest -o`` writes: a ``listings:`` key, or the section's keys at the top).
    Errors in it name that file and its lines."""
    line = _line_of(node, ["listings_file"])
    name = data.pop("listings_file")
    if "listings" in data:
        raise ConfigError(
            file,
            [ConfigProblem("listings_file", "give either 'listings:' or 'listings_file:', not both", line)],
        )
    if not isinstance(name, str) or not name:
        raise ConfigError(file, [ConfigProblem("listings_file", "expected a file name", line)])
    path = Path(name).expanduser()
    path = path if path.is_absolute() else base_dir / path
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "file not found" if isinstance(exc, FileNotFoundError) else f"cannot read: {exc}"
        raise ConfigError(file, [ConfigProblem("listings_file", f"{path}: {reason}", line)]) from None
    included = str(path)
    try:
        root = yamlnodes.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            included, [ConfigProblem("", f"not valid YAML: {problem}", mark.line + 1 if mark else None)]
        ) from None
    if isinstance(root, yaml.MappingNode):
        inner = next((v for k, v in root.value if k.value == "listings"), None)
        root = inner if inner is not None and len(root.value) == 1 else root
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(included, [ConfigProblem("", "expected the keys of a 'listings:' section", 1)])
    problems: list[ConfigProblem] = []
    listings = _to_python(root, problems, ("listings",))
    try:
        ListingsConfig.model_validate(listings)
    except ValidationError as exc:
        # Seen from the top of a config (listings.attributes.x), so that keys and "did you mean"
        # read as they would inside listingsync.yaml, with the lines of the included file.
        key = yaml.ScalarNode("tag:yaml.org,2002:str", "listings", root.start_mark, root.start_mark)
        top = yaml.MappingNode("tag:yaml.org,2002:map", [(key, root)], root.start_mark, root.end_mark)
        problems += [_problem({**err, "loc": ("listings", *err["loc"])}, top) for err in exc.errors()]
    if problems:
        raise ConfigError(included, sorted(problems, key=lambda p: p.line or 0))
    return {**data, "listings": listings}


def _to_python(node: yaml.Node, problems: list[ConfigProblem], path: tuple[str, ...]) -> Any:
    """Plain data from a YAML node, with ``${VAR}`` / ``${VAR:-default}`` replaced in strings."""
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in out:
                problems.append(
                    ConfigProblem(".".join((*path, key)), "key given twice", key_node.start_mark.line + 1)
                )
            out[key] = _to_python(value_node, problems, (*path, key))
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(n, problems, (*path, str(i))) for i, n in enumerate(node.value)]
    try:  # construct the scalar as PyYAML would (ints, bools, null …)
        value = yaml.SafeLoader("").construct_object(node)
    except (yaml.YAMLError, ValueError) as exc:  # e.g. "!!int abc"
        problem = getattr(exc, "problem", None) or str(exc)
        problems.append(
            ConfigProblem(".".join(path), f"not a valid value: {problem}", node.start_mark.line + 1)
        )
        return None
    if isinstance(value, str) and "${" in value:

        def substitute(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            found = os.environ.get(name)
            if found is None:
                if default is not None:
                    return default
                problems.append(
                    ConfigProblem(
                        ".".join(path),
                        f"environment variable {name} is not set (export it, or write ${{{name}:-default}})",
                        node.start_mark.line + 1,
                    )
                )
                return ""
            return found

        value = _ENV_REF.sub(substitute, value)
    return value


def _problem(err: Any, root: yaml.Node) -> ConfigProblem:
    loc = [str(part) for part in err["loc"]]
    # pydantic puts the union member or validator name into loc for some errors; drop those parts.
    loc = [p for p in loc if not p.startswith("function-") and p not in {"str", "int"}]
    key = ".".join(loc)
    message = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden" and loc[-1].lower() in _SECRET_KEYS:
        # Never echo the value; say where credentials do go.
        message = (
            f"unknown key {loc[-1]!r}: credentials do not go in listingsync.yaml; export "
            f"{_SECRET_KEYS[loc[-1].lower()]} or run 'listingsync connect' (it stores them in the OS "
            "keyring), then remove this line"
        )
    elif err["type"] == "extra_forbidden":
        close = difflib.get_close_matches(loc[-1], _known_keys(loc[:-1]), n=1, cutoff=0.6)
        hint = (
            f"did you mean {close[0]!r}?"
            if close
            else "check the spelling against the README's configuration section"
        )
        message = f"unknown key {loc[-1]!r}; {hint}"
    elif err["type"] == "missing":
        message = "required key is missing"
    line = _line_of(root, loc)
    return ConfigProblem(key, message, line)


#: Keys users write when they put a credential in the YAML, and where the credential goes instead.
_SECRET_KEYS = {
    "client_id": "LISTINGSYNC_LWA_CLIENT_ID",
    "lwa_client_id": "LISTINGSYNC_LWA_CLIENT_ID",
    "client_secret": "LISTINGSYNC_LWA_CLIENT_SECRET",
    "lwa_client_secret": "LISTINGSYNC_LWA_CLIENT_SECRET",
    "refresh_token": "LISTINGSYNC_LWA_REFRESH_TOKEN",
    "lwa_refresh_token": "LISTINGSYNC_LWA_REFRESH_TOKEN",
    "secret": "LISTINGSYNC_SALESLAYER_SECRET",
    "private_key": "LISTINGSYNC_SALESLAYER_SECRET",
    "api_secret": "LISTINGSYNC_SALESLAYER_SECRET",
}


def _known_keys(loc: list[str]) -> list[str]:
    """The keys the config accepts at ``loc`` (a mapping's path), to suggest the one meant by a typo."""
    model: Any = Config
    for part in loc:
        fields = getattr(model, "model_fields", None)
        if fields is None:  # a dict of models (product_types.HOME …): the key is a name, skip it
            model = _model_in(model)
            fields = getattr(model, "model_fields", None)
            if fields is None:
                return []
            if part not in fields:
                continue
        if part not in fields:
            return []
        model = fields[part].annotation
    model = _model_in(model)
    fields = getattr(model, "model_fields", None)
    return [name for name in fields if name != "base_dir"] if fields else []


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside ``X | None``, ``list[X]`` or ``dict[str, X]`` (``None`` if none)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in reversed(typing.get_args(annotation)):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _line_of(node: yaml.Node, loc: list[str]) -> int | None:
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if str(key_node.value) == part:
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            return line
    return line
