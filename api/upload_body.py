"""Receiving an upload: a multipart/form-data body streamed straight to a file under BILU_HOME.

The body is never held in memory (an interview runs for hours: a 1 GB file is ordinary) and never goes to
the system's temporary folder: the file part is written, chunk by chunk, into audio/.incoming, hashed as it
comes, and the reading stops as soon as the body passes the limit (413). Form fields are small text
(a few KiB at most). Anything malformed is an `UploadRejected` naming what was wrong.
"""
import asyncio
import hashlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from engine.audio_files import discard
from error_kinds import BadInput

FILE_FIELD = "file"
MAX_FIELD_BYTES = 4096
MAX_FIELDS = 32
MAX_FILENAME_CHARS = 255


class UploadRejected(BadInput):
    """The upload's body is not what the route accepts (422); the message says what and what is allowed."""

    code = "upload_invalid"


class UploadTooLarge(BadInput):
    """The body is larger than BILU_MAX_UPLOAD_MB (413)."""

    code = "upload_too_large"

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"the upload is larger than the limit of {limit_bytes // (1 << 20)} MiB "
                         "(BILU_MAX_UPLOAD_MB)")
        self.limit_bytes = limit_bytes


@dataclass
class ReceivedUpload:
    path: Path  # the staged file in audio/.incoming
    filename: str  # the user's own file name, checked to be a plain name
    sha256: str
    size_bytes: int
    fields: dict[str, list[str]] = field(default_factory=dict)

    def field(self, name: str) -> str | None:
        """The one value of a text field, or None; a field given twice is refused."""
        values = self.fields.get(name, [])
        if len(values) > 1:
            raise UploadRejected(f"the form field {name!r} is given {len(values)} times; give it once")
        return values[0] if values else None


def check_content_length(request: Request, *, max_bytes: int) -> None:
    """Refuse a declared body over the limit before reading any of it."""
    declared = request.headers.get("content-length")
    if declared is None:
        return  # chunked: counted while reading
    if not declared.isdigit():
        raise UploadRejected(f"Content-Length {declared[:40]!r} is not a number of bytes")
    if int(declared) > max_bytes:
        raise UploadTooLarge(max_bytes)


async def receive_upload(request: Request, *, incoming_dir: Path, max_bytes: int) -> ReceivedUpload:
    """Stream the request's multipart body: its one file part to `incoming_dir`, its text fields kept."""
    content_type = request.headers.get("content-type", "")
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise UploadRejected(f"the body must be multipart/form-data with a boundary (got {content_type[:80]!r}), "
                             f"with the recording in the field {FILE_FIELD!r}")
    incoming_dir.mkdir(parents=True, exist_ok=True)
    receiver = _Receiver(incoming_dir)
    parser = MultipartParser(options[b"boundary"], receiver.callbacks())
    received = 0
    try:
        try:
            async for chunk in request.stream():
                received += len(chunk)
                if received > max_bytes:
                    raise UploadTooLarge(max_bytes)
                parser.write(chunk)
                await receiver.flush()
            parser.finalize()
        except RuntimeError as exc:  # the body was read already (a cookie login's CSRF form field)
            if "consumed" not in str(exc):
                raise
            await _from_parsed_form(request, receiver, max_bytes=max_bytes)
        except FormParserError as exc:
            raise UploadRejected(f"the multipart body is malformed ({exc})") from exc
        await receiver.flush()
        return receiver.finish()
    except BaseException:
        receiver.close_and_discard()
        raise


async def _from_parsed_form(request: Request, receiver: "_Receiver", *, max_bytes: int) -> None:
    """The form was parsed before the route ran (to read a CSRF field): take its parts, with the same limits."""
    form = await request.form()
    for name, value in form.multi_items():
        if isinstance(value, str):
            receiver.add_field(name, value.encode("utf-8"))
            continue
        receiver.begin_file(name, value.filename or "")
        copied = 0
        while block := await value.read(1 << 20):
            copied += len(block)
            if copied > max_bytes:
                raise UploadTooLarge(max_bytes)
            receiver.pending.append(block)
            await receiver.flush()
        receiver.end_part()


class _Receiver:
    """The parser's callbacks: headers gathered per part, file data queued for `flush` (off the event loop)."""

    def __init__(self, incoming_dir: Path) -> None:
        self.incoming_dir = incoming_dir
        self.fields: dict[str, list[str]] = {}
        self.pending: list[bytes] = []
        self.path: Path | None = None
        self.filename: str | None = None
        self.digest = hashlib.sha256()
        self.size = 0
        self._file = None
        self._files = 0
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._part_name: str | None = None
        self._part_is_file = False
        self._part_data = bytearray()

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._part_begin,
            "on_part_data": self._part_data_in,
            "on_part_end": self.end_part,
            "on_header_field": lambda data, start, end: self._add_header_name(data[start:end]),
            "on_header_value": lambda data, start, end: self._add_header_value(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
        }

    def _part_begin(self) -> None:
        self._disposition = b""
        self._part_name = None
        self._part_is_file = False
        self._part_data = bytearray()

    def _add_header_name(self, data: bytes) -> None:
        self._header_name += data
        if len(self._header_name) > MAX_FIELD_BYTES:
            raise UploadRejected("a part header of the multipart body is too long")

    def _add_header_value(self, data: bytes) -> None:
        self._header_value += data
        if len(self._header_value) > MAX_FIELD_BYTES:
            raise UploadRejected("a part header of the multipart body is too long")

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = b""
        self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise UploadRejected("a part of the multipart body has no name (Content-Disposition: form-data; name=…)")
        name = _text(options[b"name"], "a part name")
        if b"filename" in options:
            self.begin_file(name, _text(options[b"filename"], "the file name"))
        else:
            self._part_name = name

    def begin_file(self, name: str, filename: str) -> None:
        if name != FILE_FIELD:
            raise UploadRejected(f"a file was sent in the field {name!r}: send the recording in the field "
                                 f"{FILE_FIELD!r}, and only there")
        self._files += 1
        if self._files > 1:
            raise UploadRejected(f"the body holds {self._files} files: send exactly one recording per upload")
        self.filename = check_filename(filename)
        self.path = self.incoming_dir / f"{uuid.uuid4().hex}{_suffix(self.filename)}"
        self._file = open(self.path, "wb")  # noqa: SIM115 (closed in finish or close_and_discard)
        self._part_is_file = True

    def _part_data_in(self, data: bytes, start: int, end: int) -> None:
        if self._part_is_file:
            self.pending.append(bytes(data[start:end]))
            return
        self._part_data += data[start:end]
        if len(self._part_data) > MAX_FIELD_BYTES:
            raise UploadRejected(f"the form field {self._part_name!r} is longer than {MAX_FIELD_BYTES} bytes")

    def end_part(self) -> None:
        if self._part_is_file:
            self._part_is_file = False
            return
        if self._part_name is not None:
            self.add_field(self._part_name, bytes(self._part_data))

    def add_field(self, name: str, raw: bytes) -> None:
        if name == FILE_FIELD:
            raise UploadRejected(f"the field {FILE_FIELD!r} must be a file (a part with a filename), not text")
        if sum(len(v) for v in self.fields.values()) >= MAX_FIELDS:
            raise UploadRejected(f"the body holds more than {MAX_FIELDS} form fields")
        self.fields.setdefault(name, []).append(_text(raw, f"the form field {name!r}"))

    async def flush(self) -> None:
        """Write the file data gathered so far, in a worker thread: the event loop keeps serving."""
        if not self.pending:
            return
        blocks, self.pending = self.pending, []
        await asyncio.to_thread(self._write, blocks)

    def _write(self, blocks: list[bytes]) -> None:
        for block in blocks:
            self.digest.update(block)
            self.size += len(block)
            self._file.write(block)

    def finish(self) -> ReceivedUpload:
        if self._file is None:
            raise UploadRejected(f"the body holds no file: send the recording in the field {FILE_FIELD!r}")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        return ReceivedUpload(path=self.path, filename=self.filename, sha256=self.digest.hexdigest(),
                              size_bytes=self.size, fields=self.fields)

    def close_and_discard(self) -> None:
        if self._file is not None:
            self._file.close()
            discard(self.path)


def check_filename(filename: str) -> str:
    """The user's file name must be a plain name: it is stored and shown, and must never look like a path."""
    allowed = (f"a file name must be 1 to {MAX_FILENAME_CHARS} printable characters, without / or \\, "
               "and not . or ..")
    if not filename:
        raise UploadRejected(f"the file has no name (was a file chosen?): {allowed}")
    shown = repr(filename) if len(filename) <= 80 else f"{filename[:60]!r}… ({len(filename)} characters)"
    if len(filename) > MAX_FILENAME_CHARS:
        raise UploadRejected(f"the file name {shown} is too long: {allowed}")
    if (any(not ch.isprintable() for ch in filename) or filename in (".", "..")
            or PurePosixPath(filename).name != filename or PureWindowsPath(filename).name != filename):
        raise UploadRejected(f"the file name {shown} is not allowed: {allowed}")
    return filename


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UploadRejected(f"{what} is not UTF-8 text (byte {exc.start}: {raw[exc.start:exc.start + 1]!r})") from exc


def _suffix(filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower()
    # Only a plain extension is kept: the stored name must never carry anything path-like.
    return suffix if suffix[1:].isalnum() and len(suffix) <= 6 else ".audio"
