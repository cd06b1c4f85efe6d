from typing import Any

from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response


class ResultsPagination(PageNumberPagination):
    """Every list answers {"results": [...], "next": <url or null>}."""

    page_size = 100
    max_page_size = 500
    page_size_query_param = "limit"

    def get_paginated_response(self, data: Any) -> Response:
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {"results": schema, "next": {"type": "string", "format": "uri", "nullable": True}},
        }
