"""The local mode's demo automation: what each scenario answers, and what it sends after."""

from __future__ import annotations

import json
from unittest import mock

from django.test import RequestFactory

from demo import automation as demo

CLICK = {"resource": "deal", "selectedIds": "21389", "event_id": "d3cc3758-41d3-4eba-bb80-894734f5fa20"}


def answer(scenario: str, click: dict | None = None) -> tuple[int, dict, list]:
    request = RequestFactory().post(f"/demo/automation?scenario={scenario}", json.dumps(click or CLICK),
                                    content_type="application/json")
    with mock.patch.object(demo.demo_follow_up, "apply_async") as follow_up:
        response = demo.automation(request)
    return response.status_code, json.loads(response.content), follow_up.call_args_list


def test_the_answer_scenario_answers_and_sends_nothing_after() -> None:
    status, body, follow_ups = answer("answer")
    assert status == 200 and body == {"message_type": "success", "message": "Received the click on <b>deal 21389</b>."}
    assert follow_ups == []


def test_the_progress_scenario_sends_its_messages_after_its_answer() -> None:
    status, body, follow_ups = answer("progress")
    assert status == 200 and "Started the demo scenario" in body["message"]
    assert [call.kwargs["args"] for call in follow_ups] == [[CLICK["event_id"], "progress"]]


def test_the_fail_scenario_answers_422() -> None:
    status, body, follow_ups = answer("fail")
    assert status == 422 and "the CRM said no" in body["message"] and follow_ups == []


def test_the_list_buttons_answer_speaks_of_the_selected_deals() -> None:
    status, body, follow_ups = answer("export", {**CLICK, "view": "list", "selectedIds": "42,43"})
    assert status == 200 and body == {"message_type": "success", "message": "Exporting <b>2 deals</b>: #42, #43."}
    assert [call.kwargs["args"] for call in follow_ups] == [[CLICK["event_id"], "export", ["42", "43"]]]
    status, body, follow_ups = answer("export", {**CLICK, "view": "list", "selectedIds": ""})
    assert body["message_type"] == "warning" and "No deal was selected" in body["message"] and follow_ups == []
