"""HTML pages for the people who click buttons: the start page and a record's panel.

The pages render the state server-side (so they read well before any script runs) and static/panel.js
takes over: clicks, the message log, live updates. No inline script or style anywhere (CSP).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.access import member_for
from buttons.models import LIST_OBJECT_ID, RESOURCES
from buttons.records import MAX_OBJECT_ID_LENGTH, RESOURCE_NAMES, Record, is_object_id
from messaging import reads

RESOURCE_LABELS = dict(RESOURCES)


def record_title(resource: str, object_id: str) -> str:
    label = RESOURCE_LABELS.get(resource, resource.title())
    return f"{label} list" if object_id == LIST_OBJECT_ID else f"{label} {object_id}"


def _clean_object_id(value: str) -> str | None:
    """A record id typed into the start page's form, or None; it goes into a URL path, so no "/"."""
    value = value.strip()
    return value if is_object_id(value) and "/" not in value else None


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Recently worked-on records, and a form to open any record's panel."""
    member = member_for(request.user)
    recent = [
        {**row, "title": record_title(row["resource"], row["object_id"]),
         "url": reverse("panel", args=[row["resource"], row["object_id"]])}
        for row in reads.recent_records(request.user)
        if _clean_object_id(row["object_id"])
    ]
    error = None
    if "resource" in request.GET or "object_id" in request.GET:
        resource = request.GET.get("resource", "")
        typed = request.GET.get("object_id", "").strip()
        object_id = _clean_object_id(typed)
        if resource in RESOURCE_NAMES and object_id:
            return redirect("panel", resource, object_id)
        if "/" in typed:
            error = "A record id cannot contain '/': enter the id as the CRM shows it, e.g. 21389."
        elif len(typed) > MAX_OBJECT_ID_LENGTH:
            error = f"A record id has at most {MAX_OBJECT_ID_LENGTH} characters."
        else:
            error = "Choose a record type and enter the record's id (or 'list' for the list view)."
    return render(request, "messaging/home.html", {
        "member": member, "recent": recent, "resources": RESOURCES, "error": error,
        "form_resource": request.GET.get("resource", "deal"), "form_object_id": request.GET.get("object_id", ""),
    }, status=400 if error else 200)


@require_GET
@login_required
def panel(request: HttpRequest, resource: str, object_id: str) -> HttpResponse:
    record = Record.parse(resource, object_id)
    if record is None:
        raise Http404("Unknown record.")
    member = member_for(request.user)
    return render(request, "messaging/panel.html", {
        "member": member,
        "resource": resource,
        "resource_label": RESOURCE_LABELS[resource],
        "object_id": object_id,
        "is_list": record.is_list,
        "view": record.view,
        "title": record_title(resource, object_id),
        "panel": reads.panel_state(request.user, resource, object_id),
        # ?live=poll forces the polling fallback (the latency benchmark compares both).
        "live_mode": "poll" if request.GET.get("live") == "poll" else "stream",
    })
