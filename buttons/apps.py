from django.apps import AppConfig


class ButtonsConfig(AppConfig):
    name = "buttons"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.actions import group_uses
        from buttons.actions import buttons_limited_to

        group_uses.append(buttons_limited_to)  # a group that limits buttons is not deleted
