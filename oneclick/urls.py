from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import SimpleRouter

from buttons import views as button_views
from messaging import views as messaging_views

router = SimpleRouter(trailing_slash="/?")
router.register("buttons", button_views.ButtonViewSet, basename="button")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/auth/token/", obtain_auth_token, name="api-token"),
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
    path("api/", include(router.urls)),
]

if settings.LOCAL_MODE:
    from buttons import demo

    urlpatterns.append(path("demo/automation", demo.automation, name="demo-automation"))
