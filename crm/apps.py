from django.apps import AppConfig


class CrmConfig(AppConfig):
    """The CRM adapters: Pipedrive (OAuth, install, panel) and the signed embed."""

    name = "crm"
    default_auto_field = "django.db.models.BigAutoField"
