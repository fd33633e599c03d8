"""The laptop's uploader/downloader over the store's outbox. No Qt."""
