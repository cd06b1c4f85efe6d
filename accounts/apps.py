from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Companies, members, the access helper and sign-in."""

    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"
