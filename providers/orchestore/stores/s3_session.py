"""The hermetic aiobotocore session behind the s3 store's s3fs filesystem (imported on first use).

Why hand-built: botocore reads AWS_* variables, ``~/.aws/config`` and the instance metadata
endpoint on its own, so "explicit credentials" could silently become "whatever this pod has".
This session sees no environment and no config file, and its only credential source is the
loader the store gives it (the S3Credentials model: see S3Store._credentials_loader).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from aiobotocore.credentials import AioCredentialResolver
from aiobotocore.session import AioSession
from botocore.configprovider import (
    BOTOCORE_DEFAUT_SESSION_VARIABLES,
    DEFAULT_PROXIES_CONFIG_VARS,
    DEFAULT_S3_CONFIG_VARS,
    ConfigChainFactory,
    ConfigValueStore,
    SectionConfigProvider,
)
from botocore.credentials import CredentialProvider

__all__ = ["hermetic_session"]

CredentialsLoader = Callable[[], Awaitable[Any]]


class _ModelCredentialProvider(CredentialProvider):
    """The only credential source of a hermetic session: what the S3Credentials model says."""

    METHOD = "orchestore"

    def __init__(self, load: CredentialsLoader) -> None:
        super().__init__()
        self._load = load

    async def load(self) -> Any:  # type: ignore[override]
        return await self._load()


def hermetic_session(load: CredentialsLoader) -> AioSession:
    """An aiobotocore session that reads no AWS_* variable and no ~/.aws file."""
    session = AioSession()
    factory = ConfigChainFactory(session=session, environ={})

    def chains(variables: dict[str, tuple[Any, ...]]) -> dict[str, Any]:
        # Only session instance variables and built-in defaults: no env, no config file.
        return {
            name: factory.create_config_chain(
                instance_name=name, default=spec[2], conversion_func=spec[3]
            )
            for name, spec in variables.items()
        }

    mapping = chains(BOTOCORE_DEFAUT_SESSION_VARIABLES)
    mapping["s3"] = SectionConfigProvider("s3", session, chains(DEFAULT_S3_CONFIG_VARS))
    mapping["proxies_config"] = SectionConfigProvider(
        "proxies_config", session, chains(DEFAULT_PROXIES_CONFIG_VARS)
    )
    session.register_component("config_store", ConfigValueStore(mapping=mapping))
    for name in ("config_file", "credentials_file"):
        session.set_config_variable(name, os.devnull)  # not a regular file: nothing is read
    session.set_config_variable("ignore_configured_endpoint_urls", True)
    session.register_component(
        "credential_provider", AioCredentialResolver([_ModelCredentialProvider(load)])
    )
    return session
