"""One company's flood of clicks to a slow automation cannot hold every delivery slot."""

import itertools
import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import override_settings

from accounts.models import Member
from buttons.models import Button, ClickEvent
from buttons.tests.helpers import make_event
from deliveries import delivery
from deliveries.shares import Shares
from testing.stack import hooks_server


@override_settings(DELIVERY_COMPANY_CAP=2)
def test_a_company_over_its_share_is_parked_and_taken_in_turn() -> None:
    shares = Shares()
    assert [shares.enter(7, f"e{n}") for n in range(4)] == [True, True, False, False]
    assert shares.enter(8, "other")  # another company has its own share
    assert (shares.in_flight(7), shares.waiting(7)) == (2, 2)
    assert shares.leave(7) == "e2" and shares.leave(7) == "e3"  # the slot passes to the next, in order
    assert shares.leave(7) is None and shares.leave(7) is None
    assert (shares.in_flight(7), shares.waiting(7)) == (0, 0)


@pytest.mark.django_db(transaction=True)
@override_settings(DELIVERY_COMPANY_CAP=1)
def test_a_flood_leaves_another_companys_click_prompt(
    admin_member: Member, outsider: Member, make_button: Callable[..., Button]
) -> None:
    with hooks_server() as hooks:
        hooks.delays["/slow"] = 0.6
        flooding = make_button(url=hooks.url.replace("/hook", "/slow"))
        other = Button.objects.create(company=outsider.company, label="Quick", url=hooks.url, resource="deal",
                                      messaging_enabled=True)
        flood = [make_event(flooding, admin_member, object_id=str(n)) for n in range(3)]
        quick = make_event(other, outsider)

        def deliver(event: ClickEvent) -> None:
            try:
                delivery.deliver_in_turn(str(event.pk), event.company_id)
            finally:
                connection.close()

        started = time.time()
        threads = [threading.Thread(target=deliver, args=(event,)) for event in flood]
        for thread in threads:
            thread.start()
        time.sleep(0.1)  # the flood is in: one in flight, two parked
        deliver(quick)
        for thread in threads:
            thread.join(timeout=30)
        assert hooks.arrived[str(quick.pk)] - started < 0.5  # not behind the flood's 3 x 0.6 s
        arrivals = sorted(hooks.arrived[str(e.pk)] for e in flood)
        assert all(b - a >= 0.5 for a, b in itertools.pairwise(arrivals))  # one at a time
        assert {e.delivery for e in ClickEvent.objects.filter(pk__in=[e.pk for e in flood])} == {"delivered"}
