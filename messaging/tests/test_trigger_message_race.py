"""The quota of 10 holds under concurrency: enforced by one conditional UPDATE in the database."""

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Member
from buttons.models import Button, ClickEvent
from buttons.tests.helpers import make_event
from messaging.models import Message


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_posts_store_exactly_ten(
    admin_member: Member, make_button: Callable[..., Button]
) -> None:
    event = make_event(make_button(), admin_member)
    barrier = threading.Barrier(50)

    def send(i: int) -> int:
        try:
            barrier.wait(timeout=30)
            response = APIClient().post(
                "/api/trigger-message", {"event_id": str(event.pk), "message": f"message {i}"}, format="json"
            )
            return response.status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = Counter(pool.map(send, range(50)))

    assert statuses == {201: 10, 400: 40}, statuses  # never a 5xx
    assert Message.objects.filter(event=event).count() == 10
    assert ClickEvent.objects.get(pk=event.pk).custom_message_count == 10
