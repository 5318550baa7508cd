"""Typed credential models, one per scheme; every credential source produces one of these.

This module must stay cheap to import: models never import a store's SDK.
"""

from orchestore.credentials.azure import AzureCredentials
from orchestore.credentials.base import CredentialsModel
from orchestore.credentials.gcs import GCSCredentials
from orchestore.credentials.http import HttpCredentials
from orchestore.credentials.resolver import CredentialSource, resolve_credentials
from orchestore.credentials.s3 import S3Credentials
from orchestore.credentials.v3io import V3ioCredentials
from orchestore.credentials.vault import VaultConnection, VaultSecretRef

__all__ = [
    "AzureCredentials",
    "CredentialSource",
    "CredentialsModel",
    "GCSCredentials",
    "HttpCredentials",
    "S3Credentials",
    "V3ioCredentials",
    "VaultConnection",
    "VaultSecretRef",
    "resolve_credentials",
]
