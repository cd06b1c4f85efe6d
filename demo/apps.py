from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo automation, the demo CRM and seed_demo (local mode only)."""

    name = "demo"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from buttons import sources
        from demo.crm import demo_catalogue, demo_source

        sources.register(demo_source)  # after the CRM's own sources (crm loads first)
        sources.register_catalogue(demo_catalogue)
