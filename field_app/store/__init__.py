"""The evidence store: encrypted database, keys, media vault, append-only signed log. No Qt."""
