"""Message types, canonical JSON, error codes and version shared by client and server. No I/O."""

PROTOCOL_VERSION = 1
