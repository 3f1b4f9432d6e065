"""When to retry a failed operation and how long to wait first (tenacity's policies).

Retried: the statuses azure-core retries (408, 429, 500, 502, 503, 504). The wait is
tenacity's exponential backoff, never shorter than the cloud's Retry-After. Throttling
(429) says when to come back, so its budget is time spent waiting, not attempts.

AllocationFailed (no capacity for the size in the region or zone) is retried only where
the caller says the same size and zone must be tried again, on a budget of its own: a few
attempts minutes apart, as Microsoft's guidance says ("Troubleshoot allocation failures
when you create, restart, or resize VMs in Azure": retry later, or change the size or
zone; https://learn.microsoft.com/troubleshoot/azure/virtual-machines/windows/allocation-failure).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tenacity import RetryCallState, stop_after_attempt, stop_after_delay, wait_exponential
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from restore.errors import CloudError

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
ALLOCATION_FAILED = "AllocationFailed"


@dataclass(frozen=True)
class RetryPolicy:
    stop: stop_base = field(default_factory=lambda: stop_after_attempt(5))
    throttled_stop: stop_base = field(default_factory=lambda: stop_after_delay(3 * 3600))
    wait: wait_base = field(default_factory=lambda: wait_exponential(multiplier=2, min=2,
                                                                     max=120))
    allocation_stop: stop_base = field(default_factory=lambda: stop_after_attempt(4))
    allocation_wait: wait_base = field(default_factory=lambda: wait_exponential(
        multiplier=60, min=60, max=600))  # 1, 2, 4 minutes

    def delay_s(self, error: CloudError, attempt: int, waited_s: float = 0.0,
                allocation: bool = False) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, having waited ``waited_s`` for
        this operation already; None when not to retry. With ``allocation``, an
        AllocationFailed is retried too (same size, same zone)."""
        if allocation and error.code == ALLOCATION_FAILED:
            stop, wait = self.allocation_stop, self.allocation_wait
        elif error.status in RETRYABLE_STATUSES:
            stop = self.throttled_stop if error.status == 429 else self.stop
            wait = self.wait
        else:
            return None
        state = RetryCallState(None, None, (), {})
        state.attempt_number = attempt
        state.start_time, state.outcome_timestamp = 0.0, waited_s
        if stop(state):
            return None
        return max(float(wait(state)), error.retry_after or 0.0)


DEFAULT_RETRY = RetryPolicy()
"""The policy of every restore that names none (it holds no state: one serves all)."""
