"""The demo's pages (local mode only: the roof includes them when the demo app is installed)."""

from django.urls import path

from demo import automation, crm

urlpatterns = [
    path("demo/automation", automation.automation, name="demo-automation"),
    path("demo/crm/", crm.crm, name="demo-crm"),
    path("demo/crm/token", crm.crm_token, name="demo-crm-token"),
]
