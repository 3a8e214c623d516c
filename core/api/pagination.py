"""Page-number pagination with a client-chosen, capped page size."""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """`page` and `page_size` query parameters; a page size over the maximum is capped.

    A `page_size` that is not a positive integer is refused with a field error rather than
    silently replaced by the default (DRF's behaviour): the schema says it is an integer.
    """

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    max_page_number = 2**31 - 1

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param, "")
        if raw == "":
            return self.page_size
        # ASCII digits only: int() would also take " 5", "+5", "1_0" and other scripts' digits,
        # and refuses (ValueError) numbers of more than 4300 digits, which are merely big.
        digits = raw.lstrip("0")
        if not (raw.isascii() and raw.isdigit()) or not digits:
            raise ValidationError({self.page_size_query_param: ["A positive integer is required."]})
        if len(digits) > len(str(self.max_page_size)):
            return self.max_page_size
        return min(int(digits), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                # Any page after the last is 404, so no page number is too big to ask for; the
                # bound is the integer type a client needs to hold one.
                parameter["schema"].update(minimum=1, maximum=self.max_page_number)
                parameter["description"] = "A page number (from 1); a page after the last is 404."
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = (
                    f"Number of results per page (default {self.page_size}; "
                    f"more than {self.max_page_size} are capped at {self.max_page_size})."
                )
        return parameters

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["description"] = (
            "One page of results: `count` in all, and the absolute URLs of the next and previous "
            "pages (null at either end)."
        )
        properties = response["properties"]
        properties["count"].update(minimum=0, maximum=2**63 - 1, format="int64")
        properties["results"] = {**properties["results"], "maxItems": self.max_page_size}
        return response
