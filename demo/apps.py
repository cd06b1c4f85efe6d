from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo automation, the demo CRM and seed_demo (local mode only)."""

    name = "demo"
    default_auto_field = "django.db.models.BigAutoField"
