"""Sign-in endpoints with a per-address attempt budget, so passwords cannot be guessed at speed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.db.models import QuerySet
from django.forms import Form
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from accounts import actions
from accounts.access import member_for, scoped
from accounts.models import Group
from accounts.permissions import IsCompanyAdmin
from accounts.serializers import GroupSerializer
from core.throttling import AddressThrottle

TOO_MANY = "Too many sign-in attempts from your address; please wait a minute and try again."


class LoginThrottle(AddressThrottle):
    """Attempts per client address (settings: DEFAULT_THROTTLE_RATES["login"]), successful or not.
    Sign-in keeps working while the shared cache is down: the budget is then each process's own."""

    scope = "login"


def over_budget(request: HttpRequest) -> bool:
    return request.method == "POST" and not LoginThrottle().allow_request(request, None)


def refused(form: Form) -> Form:
    """The form, bound but not cleaned (cleaning checks the password: this guess must not count),
    with the reason as its error."""
    form.cleaned_data, form._errors = {}, ErrorDict()
    form.add_error(None, TOO_MANY)
    return form


class TokenView(ObtainAuthToken):
    throttle_classes = [LoginThrottle]
    # ObtainAuthToken names DRF's own parsers, which read any size and nesting: use the bounded ones.
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True


    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if over_budget(request):
            form = refused(self.get_form())
            return self.render_to_response(self.get_context_data(form=form), status=429)
        return super().post(request, *args, **kwargs)


def throttled_admin_login(login: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """admin.site.login with the same budget (the admin has its own sign-in page)."""

    def view(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if not over_budget(request):
            return login(request, extra_context)
        context = {**admin.site.each_context(request), "title": "Log in", "app_path": request.get_full_path(),
                   "form": refused(AdminAuthenticationForm(request, data=request.POST)),
                   "username": request.POST.get("username", "")}
        return TemplateResponse(request, "admin/login.html", context, status=429)

    return view


class GroupViewSet(viewsets.ModelViewSet):
    """Company admins manage their company's groups of members (/api/groups/); another company's group is
    a 404 like any unknown one."""

    serializer_class = GroupSerializer
    permission_classes = [IsCompanyAdmin]

    def get_queryset(self) -> QuerySet[Group]:
        return scoped(Group.objects.prefetch_related("members"), self.request.user).order_by("name", "id")

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if self.request.user.is_authenticated:
            context["company_id"] = member_for(self.request.user).company_id
        return context

    @extend_schema(responses={204: None, 404: OpenApiResponse(description="No such group in your company."),
                              409: OpenApiResponse(description="The group still limits buttons; detail names them.")})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            actions.delete_group(self.get_object())
        except actions.GroupInUse as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)
