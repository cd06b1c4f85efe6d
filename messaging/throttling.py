"""The per-address budget of misses on /api/trigger-message, so event ids cannot be guessed by brute force.

Only misses count (an event_id that is unknown, expired or of a button with messaging off): Make and
Zapier post for thousands of customers from a handful of addresses, and their valid posts are bound
by each click's quota of 10 alone, while a guesser of 122-bit uuid4s misses every time. The view asks
the throttle once per miss, so valid posts never touch the cache.
"""

from __future__ import annotations

from core.throttling import AddressThrottle


class TriggerMessageMissThrottle(AddressThrottle):
    """Asked once per miss (the view's business), not as a DRF throttle before every request."""

    scope = "trigger_message_miss"
