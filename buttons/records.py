"""The record a button lives on: a resource and an object id, and the view that follows from them.

In details view the object id is the CRM record's id; in list view it is the literal "list", so a
list's messages belong to the list itself. Every place that takes a record from outside (the panel
page, the panel API, the live stream, a click's selected ids) checks it here.
"""

from __future__ import annotations

from dataclasses import dataclass

from buttons.models import LIST_OBJECT_ID, RESOURCES
from core.ids import MAX_ID_LENGTH

RESOURCE_NAMES = frozenset(name for name, _ in RESOURCES)
MAX_OBJECT_ID_LENGTH = MAX_ID_LENGTH
OBJECT_ID_RULE = (
    f"object_id must be the record's id (1 to {MAX_OBJECT_ID_LENGTH} printable characters) or '{LIST_OBJECT_ID}'."
)


def is_object_id(value: object) -> bool:
    """1 to 64 printable characters: what a CRM's record id (or "list") can be."""
    return isinstance(value, str) and 0 < len(value) <= MAX_OBJECT_ID_LENGTH and value.isprintable()


def view_of(object_id: str) -> str:
    return "list" if object_id == LIST_OBJECT_ID else "details"


@dataclass(frozen=True)
class Record:
    resource: str
    object_id: str

    @property
    def view(self) -> str:
        return view_of(self.object_id)

    @property
    def is_list(self) -> bool:
        return self.object_id == LIST_OBJECT_ID

    @classmethod
    def parse(cls, resource: object, object_id: object) -> Record | None:
        """The record, or None when the resource is unknown or the object id is not one."""
        if resource not in RESOURCE_NAMES or not is_object_id(object_id):
            return None
        return cls(str(resource), str(object_id))
