"""Test harness: real system services (SecretService keyring, PulseAudio) started privately per session,
and helpers for driving Qt widgets."""
