"""English formats, as Django's own but with seconds in datetimes (see settings.FORMAT_MODULE_PATH)."""

DATETIME_FORMAT = "N j, Y, H:i:s"
SHORT_DATETIME_FORMAT = "m/d/Y H:i:s"
