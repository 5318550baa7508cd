"""orchestore's Airflow sensors (cheap to import: no store SDK until a check runs)."""

from orchestore.airflow.sensors.store_key import StoreKeySensor

__all__ = ["StoreKeySensor"]
