"""Message shapes of protocol version 1 (pydantic models: validation on HQ, the published OpenAPI
schema, and documentation). Every message carries ``"v": 1``; unknown fields are refused in requests so
a newer client talking to an older HQ gets a coded error instead of silently losing a field.
"""

from __future__ import annotations

from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

PROTOCOL_VERSION = 1
# Headers of a media chunk (PUT /v1/blobs/{sha}/chunks/{i}; the body is the chunk's bytes): the total
# size of the blob, and the SHA-256 of the blob's bytes from its first byte to the end of this chunk
# (the chunk's prefix hash — for the last chunk, the blob's name). The request signature covers the
# prefix hash in place of the body hash.
H_BLOB_SIZE, H_PREFIX_SHA256 = "X-FR-Blob-Size", "X-FR-Prefix-SHA256"
Hex64 = Field(pattern=r"^[0-9a-f]{64}$")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")
    v: Literal[1] = 1


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow")
    v: Literal[1] = 1


class ErrorBody(BaseModel):
    code: int = Field(description="numbered error code (sync.protocol.errors.Code)")
    message: str = Field(description="中文说明")
    retry: bool = Field(description="whether sending the same again later can succeed")
    detail: dict[str, Any] = {}


class ErrorAnswer(_Answer):
    error: ErrorBody


class TimeAnswer(_Answer):
    time_ns: int
    protocol: int = PROTOCOL_VERSION
    hq_id: str


class EnrolRequest(_Request):
    code: str = Field(description="one-time enrolment code from `field-hq enrolment-code`")
    device_id: str = Field(description="the evidence store's id")
    device_key: str = Field(pattern=r"^[0-9a-f]{64}$", description="device Ed25519 public key (hex)")
    escrow: dict[str, Any] = Field(description="the store's escrow box (sealed to HQ's escrow key)")
    name: str = ""
    officers: list[str] = []
    time_ms: int
    proof: str = Field(description="Ed25519(device key, enrol domain ‖ canonical JSON of the rest)")


class Officer(BaseModel):
    name: str
    cert_no: str
    department: str
    role: str
    active: bool


class RosterAnswer(_Answer):
    department: str
    departments: list[str]
    officers: list[Officer]
    version: str


class EnrolAnswer(_Answer):
    hq_id: str
    hq_key: str
    escrow_public_key: Optional[str]
    device_id: str
    department: str
    roster: RosterAnswer
    time_ns: int
    signature: str
    code_mac: str


class ReceiptBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    v: Literal[1] = 1
    kind: str
    hq: str
    hq_key: str
    device: str
    device_key: str
    size: int
    root: str
    head: str
    time: int
    signature: str


class DeviceState(_Answer):
    device: str
    head_size: int
    head_hash: str
    missing_blobs: list[str]
    missing_total: int
    receipt: Optional[ReceiptBody]
    chunk_size: int


class PushRequest(_Request):
    entries: list[dict[str, Any]] = Field(description="wire entries (Entry.to_json) in sequence order")


class PushAnswer(_Answer):
    accepted: int
    duplicates: int
    head_size: int
    head_hash: str
    missing_blobs: list[str]
    missing_total: int


class BlobState(_Answer):
    sha256: str
    state: Literal["complete", "partial", "absent"]
    offset: int
    size: Optional[int]
    chunk_size: int


class ChunkAnswer(_Answer):
    sha256: str
    offset: int
    complete: bool


class ReceiptRequest(_Request):
    clock_offset_ms: Optional[int] = Field(default=None, description="HQ time − laptop time, as the laptop measured it")


class ReceiptAnswer(_Answer):
    receipt: Optional[ReceiptBody]
    covered: int
    head_size: int


class DefinitionsRequest(_Request):
    have: dict[str, str] = Field(description="published path → sha256 the device already has")


class DefinitionFile(BaseModel):
    path: str
    sha256: str
    content: str


class DefinitionsAnswer(_Answer):
    files: list[DefinitionFile]
    conflicts: list[str]


class Assignment(BaseModel):
    id: str
    case_no: str
    party_name: str
    credit_code: str
    department: str
    officers: list[str]
    note: str
    created_ns: int


class AssignmentsAnswer(_Answer):
    assignments: list[Assignment]
