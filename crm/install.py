"""Installing the Pipedrive app (OAuth) and Pipedrive's uninstall callback.

/pipedrive/install/ sends the browser to Pipedrive's authorize page with a state kept in this
browser's session; /pipedrive/callback/ accepts only that state, exchanges the code, reads who is
installing and makes (or brings back) their company and member, then signs them in here, so an admin
can go straight on to adding buttons. These are top-level pages on our own site, not framed: the
session cookie is a first-party one.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets

from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from core.ids import crm_id
from crm import actions, pipedrive

STATE_SESSION_KEY = "oneclick_pipedrive_state"
NOT_CONFIGURED = ("The Pipedrive app is not set up on this server: its operator sets PIPEDRIVE_CLIENT_ID, "
                  "PIPEDRIVE_CLIENT_SECRET and PUBLIC_URL.")
MAX_UNINSTALL_BODY = 4096


def _page(request: HttpRequest, sentence: str, status: int) -> HttpResponse:
    return render(request, "embed/installed.html", {
        "heading": "OneClick could not be installed", "installed": False, "sentence": sentence,
        "restart_url": reverse("pipedrive-install") if pipedrive.configured() else None,
    }, status=status)


@require_GET
def install(request: HttpRequest) -> HttpResponse:
    if not pipedrive.configured():
        return _page(request, NOT_CONFIGURED, 404)
    state = secrets.token_urlsafe(32)
    request.session[STATE_SESSION_KEY] = state
    return HttpResponseRedirect(pipedrive.authorize_url(state))


@csrf_exempt  # GET is the OAuth redirect (its state is the check); DELETE is Pipedrive's server (Basic auth)
@require_http_methods(["GET", "DELETE"])
def callback(request: HttpRequest) -> HttpResponse:
    # Pipedrive sends its uninstall notice to the app's one Callback URL: this one.
    if request.method == "DELETE":
        return uninstall(request)
    if not pipedrive.configured():
        return _page(request, NOT_CONFIGURED, 404)
    expected = request.session.pop(STATE_SESSION_KEY, None)  # one use, whatever happens next
    state = request.GET.get("state", "")
    if not expected or not hmac.compare_digest(state.encode(), str(expected).encode()):
        return _page(request, "This installation link did not start in this browser, or it was already used. "
                     "Start the installation again from here.", 400)
    if request.GET.get("error"):
        return _page(request, "The installation was cancelled in Pipedrive; nothing was installed.", 400)
    code = request.GET.get("code", "")
    if not code or len(code) > 2000:
        return _page(request, "Pipedrive sent no authorization code. Start the installation again.", 400)
    try:
        tokens = pipedrive.exchange_code(code)
        me = pipedrive.current_user(tokens)
    except pipedrive.PipedriveError as exc:
        return _page(request, str(exc), exc.status)
    member = actions.install_from_pipedrive(**me, tokens=tokens)
    login(request, member.user, backend="django.contrib.auth.backends.ModelBackend")
    return render(request, "embed/installed.html", {
        "heading": "OneClick is installed", "installed": True, "member": member,
    })


def _basic_auth(request: HttpRequest) -> tuple[str, str] | None:
    scheme, _, encoded = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (username, password) if sep else None


@csrf_exempt  # Pipedrive's server calls it, with the app's client credentials as Basic auth
@require_http_methods(["DELETE"])
def uninstall(request: HttpRequest) -> HttpResponse:
    credentials = _basic_auth(request)
    if credentials is None or not pipedrive.is_client(*credentials):
        response = JsonResponse({"detail": "Basic authentication with the app's client id and secret is required."},
                                status=401)
        response["WWW-Authenticate"] = 'Basic realm="OneClick"'
        return response
    if len(request.body) > MAX_UNINSTALL_BODY:
        return JsonResponse({"detail": "The request body is too large."}, status=413)
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        body = None
    company_id, user_id = (crm_id(body.get(key)) if isinstance(body, dict) else None
                           for key in ("company_id", "user_id"))
    if company_id is None or user_id is None:
        return JsonResponse({"detail": "The body must be JSON with the company_id and user_id to uninstall."},
                            status=400)
    if actions.uninstall_from_pipedrive(company_id, user_id):
        detail = f"OneClick is uninstalled for user {user_id} of company {company_id}."
    else:
        detail = f"OneClick was not installed for user {user_id} of company {company_id}; nothing changed."
    return JsonResponse({"detail": detail})
