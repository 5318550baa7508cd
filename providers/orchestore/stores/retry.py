"""RetryPolicy: the one setting that bounds how long a store keeps trying.

Every network store takes it as the store option ``retry`` (``get_dataitem(url, creds,
retry=RetryPolicy(attempts=2, read_timeout=10))``), and each store has a documented default
(its class attribute ``retry_policy``). What the fields mean is the same everywhere:

- ``attempts``: tries of one request, the first included; a request that still fails raises
  StoreUnavailableError. Only failures worth retrying are retried (connection refused or reset,
  timeouts, 408, 429, 5xx); a refusal (401, 403, 404) never is. A request that must not be
  applied twice (a v3io append) is sent once; its whole upload is retried from the spool.
- ``backoff``: seconds before the first retry, doubled for each further one, capped at
  ``max_backoff``, with +-20 % jitter. (s3 keeps botocore's own jittered exponential backoff:
  botocore does not take a base delay.)
- ``connect_timeout``: seconds to open a connection.
- ``read_timeout``: seconds to wait for the response and for each next block of its body; a
  server that trickles bytes is cut off after this long too (http, v3io).

So the worst case of one operation is about ``attempts * (connect_timeout + read_timeout)``
plus the backoff waits: bounded, never a hang. Local stores (file, memory) do not retry.
"""

from __future__ import annotations

import random

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RetryPolicy"]


class RetryPolicy(BaseModel):
    """Attempts, backoff and timeouts of one store (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    attempts: int = Field(default=3, ge=1, le=20)
    """Tries of one request, the first included."""
    backoff: float = Field(default=0.25, ge=0, le=60)
    """Seconds before the first retry; doubled for each further one."""
    max_backoff: float = Field(default=5.0, ge=0, le=600)
    """The longest wait between two attempts."""
    connect_timeout: float = Field(default=10.0, gt=0, le=3600)
    """Seconds to open a connection."""
    read_timeout: float = Field(default=60.0, gt=0, le=3600)
    """Seconds to wait for a response, and for each next block of its body."""

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1 = the second attempt), jittered."""
        base = min(self.backoff * 2 ** max(retry - 1, 0), self.max_backoff)
        return random.uniform(0.8 * base, 1.2 * base)  # noqa: S311 - jitter, not crypto

    @property
    def worst_case_seconds(self) -> float:
        """An upper bound of one request's time with every attempt failing slowly."""
        waits = sum(min(self.backoff * 2**n, self.max_backoff) * 1.2 for n in range(self.attempts))
        return self.attempts * (self.connect_timeout + self.read_timeout) + waits
