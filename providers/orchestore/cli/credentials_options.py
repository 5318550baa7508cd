"""The credential options every command takes, turned into ``resolve_credentials`` calls.

Secrets come only from files or stdin (``-``), never as argv values: argv is visible to every
user in ``ps``. Every URL goes through the one resolver the libraries use,
``orchestore.credentials.resolve_credentials``, so precedence and fail-closed behaviour are
the same as in a DAG or a flow.

``--credentials-json`` holds either one model's mapping (field names or MLRun names), used for
every URL that takes credentials, or, for commands that touch two stores (``cp s3:// az://``),
a mapping from URL prefixes to such mappings: ``{"s3://bucket": {...}, "az://": {...}}``; the
longest matching prefix wins. ``--vault-path`` likewise takes ``[URL_PREFIX=]MOUNT/PATH`` and
may be repeated. ``--airflow-conn [URL_PREFIX=]ID`` and ``--prefect-block
[URL_PREFIX=]SLUG/NAME`` (repeatable too) hand the URL to an orchestrator's connection or block;
see ``orchestrator_sources``. Precedence is the resolver's: ``--credentials-json``, then the
connection or block, then ``--vault-path``, then (with ``--allow-env``) the environment.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestore.cli.orchestrator_sources import (
    AirflowConnectionSource,
    OrchestratorSource,
    PrefectBlockSource,
    pick_source,
    require_layer,
)
from orchestore.cli.output import UsageError
from orchestore.errors import CredentialsError

__all__ = ["CredentialOptions", "add_arguments", "resolver_for"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the credential options to a (parent) parser."""
    group = parser.add_argument_group("credentials (secrets only from files or stdin '-')")
    group.add_argument(
        "--credentials-json",
        metavar="FILE|-",
        help="JSON mapping of the scheme's credential fields or MLRun names "
        '(or {"URL_PREFIX": {...}, ...} for several stores)',
    )
    group.add_argument(
        "--catalog",
        metavar="SQLALCHEMY_URL",
        help="the store:// catalog; default: ORCHESTORE_CATALOG_URL, else ~/.orchestore/catalog.db",
    )
    group.add_argument(
        "--allow-env",
        action="store_true",
        help="read MLRun-style env vars (AWS_ACCESS_KEY_ID, ...) when no other source has any",
    )
    group.add_argument(
        "--airflow-conn",
        metavar="[URL_PREFIX=]ID",
        action="append",
        default=[],
        help="an Airflow connection, looked up by Airflow (its secrets backends and "
        "AIRFLOW_CONN_* variables); needs orchestore[airflow] (repeatable)",
    )
    group.add_argument(
        "--prefect-block",
        metavar="[URL_PREFIX=]SLUG/NAME",
        action="append",
        default=[],
        help="a saved Prefect block (orchestore credentials block or DataStore) from the "
        "current profile's API; needs orchestore[prefect] (repeatable)",
    )
    vault = parser.add_argument_group("Vault (HashiCorp Vault or OpenBao, KV v1/v2)")
    vault.add_argument("--vault", metavar="ADDR", help="Vault's address, e.g. https://vault:8200")
    vault.add_argument(
        "--vault-path",
        metavar="[URL_PREFIX=]MOUNT/PATH",
        action="append",
        default=[],
        help="the KV secret holding the credentials, e.g. secret/orchestore/s3 (repeatable)",
    )
    vault.add_argument("--vault-kv-version", type=int, choices=(1, 2), default=2)
    vault.add_argument("--vault-namespace", metavar="NS")
    vault.add_argument(
        "--vault-auth",
        choices=("token", "approle", "userpass", "kubernetes", "jwt"),
        default="token",
        help="the auth method (default: token)",
    )
    vault.add_argument(
        "--vault-auth-mount", metavar="MOUNT", help="where the auth method is mounted"
    )
    vault.add_argument("--vault-token-file", metavar="FILE|-", help="auth token: the token")
    vault.add_argument("--vault-role-id", metavar="ID", help="auth approle: the role ID")
    vault.add_argument(
        "--vault-secret-id-file", metavar="FILE|-", help="auth approle: the secret ID"
    )
    vault.add_argument("--vault-username", metavar="USER", help="auth userpass: the user")
    vault.add_argument(
        "--vault-password-file", metavar="FILE|-", help="auth userpass: the password"
    )
    vault.add_argument("--vault-role", metavar="ROLE", help="auth kubernetes/jwt: the Vault role")
    vault.add_argument(
        "--vault-jwt-file",
        metavar="FILE",
        help="auth kubernetes/jwt: a file holding the JWT, re-read at each login",
    )
    vault.add_argument("--vault-ca-bundle", metavar="PEM", help="CA certificates to trust")


@dataclass
class CredentialOptions:
    """The parsed credential options; ``for_url`` resolves one URL's credentials."""

    mappings: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    vault_paths: list[tuple[str, str]] = field(default_factory=list)
    sources: list[tuple[str, OrchestratorSource]] = field(default_factory=list)
    vault_connection: Any = None
    kv_version: int = 2
    allow_env: bool = False
    catalog: str | None = None

    def for_url(
        self, url: str, catalog: str | None = None, source: OrchestratorSource | None = None
    ) -> Any:
        """The URL's credential model (None for stores that take none), via the resolver.

        A store:// artifact needs its target's credentials (the catalog records URLs without
        them), so the version is looked up first and the target's URL resolved instead.
        ``source`` (a ds:// URL's connection) replaces the ``--airflow-conn``/
        ``--prefect-block`` choice.
        """
        from orchestore.credentials import resolve_credentials
        from orchestore.credentials.resolver import credentials_model
        from orchestore.urls import parse_url

        parsed = parse_url(url)
        if parsed.family == "store":
            return self._for_artifact(parsed, catalog)
        if credentials_model(parsed) is None:
            return None
        return resolve_credentials(
            parsed,
            credentials=_longest_prefix(self.mappings, url),
            source=source or pick_source(self.sources, parsed),
            vault=self._vault_ref(url),
            allow_env=self.allow_env,
        )

    def _for_artifact(self, url: Any, catalog: str | None) -> Any:
        if url.artifact is None or not url.artifact.key:
            return None  # a project listing reads only the catalog
        from orchestore.catalog import api

        return self.for_url(api.resolve(url, catalog=catalog).target_path)

    def _vault_ref(self, url: str) -> Any:
        chosen = _longest_prefix(self.vault_paths, url)
        if chosen is None:
            return None
        from orchestore.credentials import VaultSecretRef

        mount, _, path = chosen.strip("/").partition("/")
        return VaultSecretRef(
            connection=self.vault_connection, mount=mount, path=path, kv_version=self.kv_version
        )


def resolver_for(args: argparse.Namespace) -> CredentialOptions:
    """Check the options' combinations and read the secret files (stdin at most once)."""
    reader = _SecretReader()
    options = CredentialOptions(
        allow_env=args.allow_env, kv_version=args.vault_kv_version, catalog=args.catalog
    )
    options.sources = _orchestrator_sources(args)
    if args.credentials_json:
        options.mappings = _parse_credentials_json(reader.read(args.credentials_json))
    if args.vault_path and not args.vault:
        raise UsageError("--vault-path needs --vault ADDR")
    if args.vault and not args.vault_path:
        raise UsageError("--vault needs --vault-path MOUNT/PATH (the secret to read)")
    if args.vault:
        options.vault_paths = [_split_prefixed(value) for value in args.vault_path]
        options.vault_connection = _vault_connection(args, reader)
    return options


class _SecretReader:
    """Reads secret files; ``-`` is stdin, which can be read only once."""

    def __init__(self) -> None:
        self._stdin_used = False

    def read(self, source: str, *, option: str = "") -> str:
        if source == "-":
            if self._stdin_used:
                raise UsageError("only one option can read its secret from stdin '-'")
            self._stdin_used = True
            return sys.stdin.read()
        try:
            return Path(source).expanduser().read_text()
        except OSError as exc:
            raise UsageError(
                f"cannot read {option or 'the file'} {source}: {exc.strerror}"
            ) from None


def _parse_credentials_json(text: str) -> list[tuple[str, dict[str, Any]]]:
    """A flat mapping applies to every URL (prefix ''); a mapping of URL prefixes, to each."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # The position only: the message of a JSON error can quote the secret it choked on.
        raise CredentialsError(
            f"--credentials-json is not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(data, dict):
        raise CredentialsError("--credentials-json must hold a JSON object")
    prefixed = [key for key in data if "://" in key]
    if not prefixed:
        return [("", data)]
    if len(prefixed) != len(data) or not all(isinstance(v, dict) for v in data.values()):
        raise CredentialsError(
            "--credentials-json mixes URL-prefix keys with field names; use one form: "
            '{"field": ...} or {"s3://bucket": {"field": ...}, ...}'
        )
    return list(data.items())


def _orchestrator_sources(args: argparse.Namespace) -> list[tuple[str, OrchestratorSource]]:
    """``--airflow-conn`` / ``--prefect-block`` values as (URL prefix, source); nothing loads
    here (a connection or block is looked up when a URL first needs it)."""
    sources: list[tuple[str, OrchestratorSource]] = []
    for option, values, make in (
        ("--airflow-conn", args.airflow_conn, AirflowConnectionSource),
        ("--prefect-block", args.prefect_block, PrefectBlockSource),
    ):
        if values:
            require_layer(option)
        for value in values:
            prefix, _, reference = value.rpartition("=")
            if not reference:
                raise UsageError(f"{option} {value!r}: expected [URL_PREFIX=]{option[2:]} value")
            sources.append((prefix, make(reference)))
    return sources


def _split_prefixed(value: str) -> tuple[str, str]:
    """``s3://bkt=secret/app`` -> (``s3://bkt``, ``secret/app``); no ``=``: every URL."""
    prefix, sep, path = value.rpartition("=")
    if not sep:
        prefix, path = "", value
    if "/" not in path.strip("/"):
        raise UsageError(f"--vault-path {value!r}: expected MOUNT/PATH, e.g. secret/orchestore/s3")
    return prefix, path


def _longest_prefix(table: list[tuple[str, Any]], url: str) -> Any:
    matches = [(len(prefix), value) for prefix, value in table if url.startswith(prefix)]
    return max(matches, key=lambda match: match[0])[1] if matches else None


_VAULT_SECRET_FILES = {
    "token": ("vault_token_file", "--vault-token-file"),
    "secret_id": ("vault_secret_id_file", "--vault-secret-id-file"),
    "password": ("vault_password_file", "--vault-password-file"),
}
_VAULT_PLAIN = {
    "role_id": "vault_role_id",
    "username": "vault_username",
    "role": "vault_role",
    "jwt_path": "vault_jwt_file",
    "auth_mount": "vault_auth_mount",
    "namespace": "vault_namespace",
    "ca_bundle": "vault_ca_bundle",
}


def _vault_connection(args: argparse.Namespace, reader: _SecretReader) -> Any:
    """A VaultConnection from the options; the model names any field its auth method lacks."""
    from orchestore.credentials import VaultConnection

    fields: dict[str, Any] = {"url": args.vault, "auth_method": args.vault_auth}
    for name, attr in _VAULT_PLAIN.items():
        if getattr(args, attr) is not None:
            fields[name] = getattr(args, attr)
    for name, (attr, option) in _VAULT_SECRET_FILES.items():
        source = getattr(args, attr)
        if source is not None:
            fields[name] = reader.read(source, option=option).strip()
    if args.vault_auth == "token" and "token" not in fields:
        raise UsageError("--vault with token auth needs --vault-token-file FILE|-")
    try:
        return VaultConnection(**fields)
    except CredentialsError as exc:
        raise CredentialsError(f"Vault options: {exc.message}") from None
