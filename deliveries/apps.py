from django.apps import AppConfig


class DeliveriesConfig(AppConfig):
    """Pressing a button and delivering its webhook."""

    name = "deliveries"
    default_auto_field = "django.db.models.BigAutoField"
