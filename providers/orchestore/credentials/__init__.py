"""Typed credential models, one per scheme; every credential source produces one of these."""

from orchestore.credentials.base import CredentialsModel
from orchestore.credentials.http import HttpCredentials

__all__ = ["CredentialsModel", "HttpCredentials"]
