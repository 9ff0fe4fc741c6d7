"""Reading an upload safely: the size limit enforced while the body arrives, the parts kept in memory.

Nothing of an upload is ever written to disk (a web framework's own form
parser spools large files to a temporary file), and a body over the limit
is refused as soon as the limit is passed, not after it has been read whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header

# Room for the form's other fields and the multipart framing around a photo of the largest size.
FORM_OVERHEAD = 64 * 1024


class BodyTooLarge(ValueError):
    """The request body passed the limit (413)."""


class BadForm(ValueError):
    """The body is not a readable multipart form (422)."""


@dataclass
class Form:
    """A parsed multipart form: text fields (a name may repeat) and files (name -> bytes)."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def first(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None


async def read_body(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """The whole body, refused with :class:`BodyTooLarge` as soon as it passes ``limit`` bytes."""
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(f"The upload is over the limit of {limit - FORM_OVERHEAD:,} bytes.")
    return bytes(body)


def parse_form(content_type: str, body: bytes) -> Form:
    """A ``multipart/form-data`` body's fields and files (a form-urlencoded body has fields only)."""
    kind, options = parse_options_header(content_type or "")
    form = Form()
    if kind == b"application/x-www-form-urlencoded":
        from urllib.parse import parse_qsl

        for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            form.fields.setdefault(name, []).append(value)
        return form
    if kind != b"multipart/form-data" or b"boundary" not in options:
        raise BadForm("Expected a multipart/form-data body (a photo field, or product_id)")
    part: dict = {}
    header = {"field": b"", "value": b""}

    def on_part_begin() -> None:
        part.clear()
        part.update(headers={}, data=bytearray())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header["value"] += data[start:end]

    def on_header_end() -> None:
        part["headers"][header["field"].lower()] = header["value"]
        header.update(field=b"", value=b"")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part["data"] += data[start:end]

    def on_part_end() -> None:
        _, disposition = parse_options_header(part["headers"].get(b"content-disposition", b""))
        name = disposition.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in disposition:
            form.files[name] = bytes(part["data"])
        else:
            form.fields.setdefault(name, []).append(part["data"].decode("utf-8", "replace"))

    parser = MultipartParser(options[b"boundary"], {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field, "on_header_value": on_header_value,
        "on_header_end": on_header_end, "on_part_data": on_part_data, "on_part_end": on_part_end})
    try:
        parser.write(body)
        parser.finalize()
    except Exception as error:  # python-multipart raises its own error types for malformed bodies
        raise BadForm(f"The multipart body could not be read ({type(error).__name__})") from None
    return form
