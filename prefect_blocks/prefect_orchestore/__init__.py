"""Prefect blocks and tasks for orchestore (Prefect's ``prefect_<name>`` package convention).

The credential blocks, the DataStore block and the ready tasks arrive in a later release;
until then flows call the orchestore core directly (see the README's Prefect quickstart).
"""

from orchestore._version import __version__

__all__ = ["__version__"]
