from django.db import migrations


def set_fillfactor(apps, schema_editor) -> None:
    # Every custom message bumps its event's custom_message_count. Leaving room on each page lets
    # PostgreSQL update the row in place (a HOT update: no index writes), which is most of the cost
    # of /api/trigger-message's claim. Other databases have no such knob.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE buttons_clickevent SET (fillfactor = 70)")


def reset_fillfactor(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE buttons_clickevent RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("buttons", "0001_initial")]
    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
