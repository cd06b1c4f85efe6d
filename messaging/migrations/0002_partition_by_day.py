"""Messages and click events become tables partitioned by creation day (PostgreSQL only).

Retention then drops a whole expired day at once instead of deleting it row by row (messaging/partitions.py,
bench/retention.py). The existing rows are copied over; the day partitions cover the retention period and
the week ahead, older rows land in the DEFAULT partition and go at the next retention run. The message ->
click event foreign key is kept by the application only: a foreign key to a partitioned table must
name its partition key, which the message does not carry.
"""

from datetime import timedelta

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

TABLES = ("buttons_clickevent", "messaging_message")


def partition_tables(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    from messaging import partitions

    quote = schema_editor.connection.ops.quote_name
    today = timezone.now().date()
    for table in TABLES:
        old = f"{table}_unpartitioned"
        options = partitions.STORAGE.get(table)
        storage = f" WITH ({options})" if options else ""
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s "
                "AND indexname <> %s",
                [table, f"{table}_pkey"],
            )
            indexes = [row[0] for row in cursor.fetchall()]
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                "AND contype = 'f'",
                [table],
            )
            foreign_keys = cursor.fetchall()
            cursor.execute(f"ALTER TABLE {quote(table)} RENAME TO {quote(old)}")
            cursor.execute(
                f"CREATE TABLE {quote(table)} (LIKE {quote(old)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
                "INCLUDING IDENTITY) PARTITION BY RANGE (created_at)"
            )
            cursor.execute(f"CREATE TABLE {quote(table + '_pdefault')} PARTITION OF {quote(table)} DEFAULT{storage}")
        partitions.ensure_partitions(
            table, today - timedelta(days=settings.MESSAGE_RETENTION_DAYS + 1), today + timedelta(days=partitions.DAYS_AHEAD)
        )
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {quote(table)} SELECT * FROM {quote(old)}")  # noqa: S608
            cursor.execute(f"DROP TABLE {quote(old)}")
            # The primary key must hold the partition key; ids stay unique by construction (a sequence,
            # uuid4).
            cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(table + '_pkey')} "
                           "PRIMARY KEY (id, created_at)")
            for definition in indexes:
                cursor.execute(definition)
            for name, definition in foreign_keys:
                cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            if sequence and sequence.rsplit(".", 1)[-1].strip('"') != f"{table}_id_seq":
                # LIKE ... INCLUDING IDENTITY made a new sequence (the old one's name was taken): give it the
                # usual name and carry on from the copied ids.
                cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {quote(table + '_id_seq')}")
                cursor.execute(
                    f"SELECT setval(%s, COALESCE((SELECT max(id) FROM {quote(table)}), 0) + 1, false)",  # noqa: S608
                    [table + "_id_seq"],
                )


class Migration(migrations.Migration):
    dependencies = [
        ("buttons", "0002_clickevent_fillfactor"),
        ("messaging", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="message",
            name="event",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="messages",
                to="buttons.clickevent",
            ),
        ),
        migrations.RunPython(partition_tables, elidable=False)  # not reversible: the data stays partitioned,
    ]
