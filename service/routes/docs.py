"""OpenAPI descriptions of the error answers a route can give."""

from litestar.openapi import ResponseSpec

from service.schemas import ErrorBody

_MEANINGS = {
    400: "The request body is not valid JSON",
    404: "No such job (or no job for this app)",
    409: "The job is not in a state that allows this, or its lease is not yours",
    413: "The request body is larger than the limit",
    422: "A field is missing or has a bad value; details name it",
    503: "The store does not answer",
}


BODY_ERRORS = (400, 413, 422)  # what any route that takes a JSON body can answer


def errors(*codes: int) -> dict[int, ResponseSpec]:
    return {
        code: ResponseSpec(data_container=ErrorBody, description=_MEANINGS[code]) for code in codes
    }
