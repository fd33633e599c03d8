"""Sync between the laptop and headquarters: protocol (pure), client (laptop), server (HQ)."""
