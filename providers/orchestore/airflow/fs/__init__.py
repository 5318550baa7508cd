"""ObjectStoragePath filesystems for the schemes orchestore owns: v3io, v3ios and store.

Each module exposes Airflow's filesystem contract, ``schemes`` and
``get_fs(conn_id, storage_options)``. s3, gs and abfs are deliberately absent: the official
providers own them, and the last module to register a scheme wins silently. fsspec itself
finds the filesystem classes through the ``fsspec.specs`` entry points in pyproject.toml.
"""
