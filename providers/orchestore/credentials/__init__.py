"""Typed credential models, one per scheme; every credential source produces one of these.

This module must stay cheap to import: models never import a store's SDK.
"""

from orchestore.credentials.base import CredentialsModel
from orchestore.credentials.http import HttpCredentials

__all__ = [
    "CredentialsModel",
    "HttpCredentials",
]
