"""Asset URI handlers (``asset-uris``) for the schemes orchestore owns: v3io(s) and store.

Airflow normalises first (lower-case scheme, no userinfo, sorted query, no trailing slash or
fragment) and then calls the handler, which returns a ``SplitResult`` or raises ValueError.
"""
