from django.apps import AppConfig


class CrmConfig(AppConfig):
    """The CRM adapters: Pipedrive (OAuth, install, panel) and the signed embed."""

    name = "crm"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from buttons import sources
        from crm import records

        # Where a record's values come from, first match wins: the page's own claims, then Pipedrive.
        sources.register(records.embed_source)
        sources.register(records.pipedrive_source)
        sources.register_catalogue(records.pipedrive_catalogue)
