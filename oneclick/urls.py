from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.contenttypes import views as contenttype_views
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from buttons import install as pipedrive_install
from buttons import views as button_views
from messaging import embedded, panel_api
from messaging import stream as messaging_stream
from messaging import views as messaging_views
from messaging import web as messaging_web
from oneclick import auth, health

admin.site.site_header = admin.site.site_title = "OneClick administration"
admin.site.index_title = "Buttons, clicks and messages"
# Three models need no side navigation; the click and message lists need the width.
admin.site.enable_nav_sidebar = False
admin.site.login = auth.throttled_admin_login(admin.site.login)

handler400 = "oneclick.contract.handler400"
handler403 = "oneclick.contract.handler403"
handler404 = "oneclick.contract.handler404"
handler500 = "oneclick.faults.server_error"

router = SimpleRouter(trailing_slash="/?")
router.register("buttons", button_views.ButtonViewSet, basename="button")

def admin_shortcut(request: HttpRequest, content_type_id: int, object_id: str) -> HttpResponse:
    """The admin's "view on site" redirect, where an id that cannot be one (not a UUID for a click
    event) is a 404 rather than Django's ValidationError 500."""
    try:
        return contenttype_views.shortcut(request, content_type_id, object_id)
    except ValidationError:
        raise Http404("No such object.") from None


def favicon(request: HttpRequest) -> HttpResponseRedirect:
    """Browsers ask for /favicon.ico on every page, the admin's included."""
    return HttpResponseRedirect(static("favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("healthz", health.healthz, name="healthz"),
    path("admin/r/<int:content_type_id>/<path:object_id>/", admin.site.admin_view(admin_shortcut)),
    path("admin/", admin.site.urls),
    path("api/auth/token/", auth.TokenView.as_view(), name="api-token"),
    re_path(r"^api/trigger-message/?$", messaging_views.TriggerMessageView.as_view(), name="trigger-message"),
    path("api/buttons/<uuid:identifier>/click", button_views.ClickView.as_view(), name="button-click"),
    path("api/events/<str:event_id>/", messaging_views.EventView.as_view(), name="event-detail"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's page carries a small inline <style>; scripts stay external (the split view).
    path(
        "api/docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="api-docs",
    ),
    # The browser side (issue #4): pages, the panel's JSON API, live updates.
    path("", messaging_web.home, name="home"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("panel/<str:resource>/<str:object_id>/", messaging_web.panel, name="panel"),
    path("api/panel/<str:resource>/<str:object_id>/", panel_api.PanelView.as_view(), name="panel-state"),
    re_path(r"^api/buttons/(?P<identifier>[^/]+)/messages/?$", panel_api.MessageLogView.as_view(),
            name="button-messages"),
    re_path(r"^api/buttons/(?P<identifier>[^/]+)/messages/read/?$", panel_api.MarkReadView.as_view(),
            name="button-messages-read"),
    re_path(r"^api/buttons/(?P<identifier>[^/]+)/messages/read-all/?$",
            panel_api.MarkAllReadView.as_view(), name="button-messages-read-all"),
    path("api/stream/<str:resource>/<str:object_id>/", messaging_stream.stream, name="panel-stream"),
    path("api/buttons/<uuid:identifier>/clear-messages", button_views.ClearMessagesView.as_view(),
         name="button-clear-messages"),
    path("api/", include(router.urls)),
    # Inside the CRM (DESIGN "Embedding in the CRM"): Pipedrive's custom panel and app install, and the
    # signed embed for any other host. Only these pages may be framed (oneclick.framing).
    path("pipedrive/panel/", embedded.pipedrive_panel, name="pipedrive-panel"),
    path("pipedrive/session/", embedded.PipedriveSessionView.as_view(), name="pipedrive-session"),
    path("pipedrive/install/", pipedrive_install.install, name="pipedrive-install"),
    path("pipedrive/callback/", pipedrive_install.callback, name="pipedrive-callback"),
    path("pipedrive/uninstall/", pipedrive_install.uninstall, name="pipedrive-uninstall"),
    path("embed/panel/", embedded.embed_panel, name="embed-panel"),
    path("embed/session/", embedded.EmbedSessionView.as_view(), name="embed-session"),
]

if settings.LOCAL_MODE:
    from buttons import demo, demo_crm

    urlpatterns += [
        path("demo/automation", demo.automation, name="demo-automation"),
        path("demo/crm/", demo_crm.crm, name="demo-crm"),
        path("demo/crm/token", demo_crm.crm_token, name="demo-crm-token"),
    ]
