"""Link buttons saved with messaging options on (the admin's form let them through): turned off, so the
API no longer reports a lock option as on for a button that can never be locked."""

from django.db import migrations

OPTIONS = ("messaging_enabled", "messages_public", "disable_on_unread_error", "disable_on_any_unread")


def turn_off(apps, schema_editor):
    Button = apps.get_model("buttons", "Button")
    Button.objects.filter(kind="link").update(**dict.fromkeys(OPTIONS, False))


class Migration(migrations.Migration):

    dependencies = [("buttons", "0009_remove_company_member")]

    operations = [migrations.RunPython(turn_off, migrations.RunPython.noop)]
