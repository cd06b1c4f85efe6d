from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.contenttypes import views as contenttype_views
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import get_script_prefix, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from accounts import views as accounts_views
from buttons import views as button_views
from crm import install as pipedrive_install
from crm import panels as crm_panels
from deliveries import views as delivery_views
from messaging import api as messaging_api
from messaging import pages as messaging_pages
from messaging import panel_api
from messaging import stream as messaging_stream
from oneclick import health

admin.site.site_header = admin.site.site_title = "OneClick administration"
admin.site.index_title = "Buttons, clicks and messages"
# Three models need no side navigation; the click and message lists need the width.
admin.site.enable_nav_sidebar = False
admin.site.login = accounts_views.throttled_admin_login(admin.site.login)

handler400 = "core.errors.handler400"
handler403 = "core.errors.handler403"
handler404 = "core.errors.handler404"
handler500 = "core.errors.server_error"

router = SimpleRouter(trailing_slash="/?")
router.register("buttons", button_views.ButtonViewSet, basename="button")
router.register("groups", accounts_views.GroupViewSet, basename="group")

def admin_shortcut(request: HttpRequest, content_type_id: int, object_id: str) -> HttpResponse:
    """The admin's "view on site" redirect, where an id that cannot be one (not a UUID for a click
    event) is a 404 rather than Django's ValidationError 500."""
    try:
        return contenttype_views.shortcut(request, content_type_id, object_id)
    except ValidationError:
        raise Http404("No such object.") from None


# Bookmarks of the admin's pages of companies and members from before they moved to the accounts app.
def _moved_to_accounts(request: HttpRequest, model: str, rest: str) -> HttpResponseRedirect:
    query = f"?{request.META['QUERY_STRING']}" if request.META.get("QUERY_STRING") else ""
    return HttpResponseRedirect(f"{get_script_prefix()}admin/accounts/{model}/{rest}{query}")


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask for /favicon.ico on every page, the admin's included."""
    return HttpResponseRedirect(static("favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("healthz", health.healthz, name="healthz"),
    path("admin/r/<int:content_type_id>/<path:object_id>/", admin.site.admin_view(admin_shortcut)),
    re_path(r"^admin/buttons/(?P<model>company|member)/(?P<rest>.*)$", _moved_to_accounts),
    path("admin/", admin.site.urls),
    path("api/auth/token/", accounts_views.TokenView.as_view(), name="api-token"),
    re_path(r"^api/trigger-message/?$", messaging_api.TriggerMessageView.as_view(), name="trigger-message"),
    path("api/buttons/<uuid:identifier>/click", delivery_views.ClickView.as_view(), name="button-click"),
    path("api/buttons/<uuid:identifier>/form", delivery_views.FormView.as_view(), name="button-form"),
    path("api/events/<str:event_id>/", messaging_api.EventView.as_view(), name="event-detail"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's page carries a small inline <style>; scripts stay external (the split view).
    path(
        "api/docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="api-docs",
    ),
    # The browser side: pages, the panel's JSON API, live updates.
    path("", messaging_pages.home, name="home"),
    path("login/", accounts_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("panel/<str:resource>/<str:object_id>/", messaging_pages.panel, name="panel"),
    path("api/panel/<str:resource>/<str:object_id>/", panel_api.PanelView.as_view(), name="panel-state"),
    re_path(r"^api/buttons/(?P<identifier>[^/]+)/messages/?$", panel_api.MessageLogView.as_view(),
            name="button-messages"),
    re_path(r"^api/buttons/(?P<identifier>[^/]+)/messages/read/?$", panel_api.MarkReadView.as_view(),
            name="button-messages-read"),
    re_path(r"^api/buttons/(?P<identifier>[^/]+)/messages/read-all/?$",
            panel_api.MarkAllReadView.as_view(), name="button-messages-read-all"),
    path("api/stream/<str:resource>/<str:object_id>/", messaging_stream.stream, name="panel-stream"),
    path("api/buttons/<uuid:identifier>/clear-messages", messaging_api.ClearMessagesView.as_view(),
         name="button-clear-messages"),
    path("api/", include(router.urls)),
    # Inside the CRM (README, "Inside your CRM"): Pipedrive's custom panel and app install, and the
    # signed embed for any other host. Only these pages may be framed (core.framing).
    path("pipedrive/panel/", crm_panels.pipedrive_panel, name="pipedrive-panel"),
    path("pipedrive/session/", crm_panels.PipedriveSessionView.as_view(), name="pipedrive-session"),
    path("pipedrive/install/", pipedrive_install.install, name="pipedrive-install"),
    path("pipedrive/callback/", pipedrive_install.callback, name="pipedrive-callback"),
    path("pipedrive/uninstall/", pipedrive_install.uninstall, name="pipedrive-uninstall"),
    path("embed/panel/", crm_panels.embed_panel, name="embed-panel"),
    path("embed/session/", crm_panels.EmbedSessionView.as_view(), name="embed-session"),
]

if settings.LOCAL_MODE:  # the demo app is installed only then (settings): production never imports it
    urlpatterns.append(path("", include("demo.urls")))

