"""The OS keyring, accepted only when it really protects secrets.

The device secret that helps unlock the store lives in the OS credential store (SecretService on
Linux, Credential Manager on Windows, Keychain on macOS). Anything else — keyrings.alt's plaintext or
"encrypted" file backends, the null/fail backends, an unknown third-party backend — is refused: we
fail closed rather than write a secret to a file next to the data it protects.
"""

from __future__ import annotations

import secrets as _secrets
from dataclasses import dataclass

import keyring
import keyring.backend
import keyring.errors

from field_app.store.errors import StoreError

# Fully qualified class names of backends that keep secrets in an OS-protected store.
SAFE_BACKENDS = frozenset(
    {
        "keyring.backends.SecretService.Keyring",
        "keyring.backends.libsecret.Keyring",
        "keyring.backends.kwallet.DBusKeyring",
        "keyring.backends.Windows.WinVaultKeyring",
        "keyring.backends.macOS.Keyring",
    }
)


class KeyringUnavailable(StoreError):
    """No safe OS keyring. ``str(exc)`` is a Chinese sentence for the user (a StoreError, so the store
    fails closed with the same kind of error as everything else)."""


@dataclass(frozen=True)
class KeyringReport:
    backend: str
    safe: bool
    detail: str


def _qualname(backend: keyring.backend.KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _leaf_backends(backend: keyring.backend.KeyringBackend) -> list[keyring.backend.KeyringBackend]:
    inner = getattr(backend, "backends", None)
    if _qualname(backend) == "keyring.backends.chainer.ChainerBackend" and inner is not None:
        return list(inner)
    return [backend]


def describe_keyring(backend: keyring.backend.KeyringBackend | None = None) -> KeyringReport:
    """Classify the active (or given) backend without touching any secret."""
    backend = backend or keyring.get_keyring()
    leaves = _leaf_backends(backend)
    names = [_qualname(b) for b in leaves]
    unsafe = [n for n in names if n not in SAFE_BACKENDS]
    shown = ", ".join(names) if names else _qualname(backend)
    if not leaves:
        return KeyringReport(shown, False, "没有任何可用的系统密钥环")
    if unsafe:
        return KeyringReport(shown, False, f"不安全或不可用的密钥环后端：{', '.join(unsafe)}")
    return KeyringReport(shown, True, "系统密钥环可用")


def require_safe_keyring() -> keyring.backend.KeyringBackend:
    """The active keyring backend if it is a safe one; otherwise raise KeyringUnavailable."""
    backend = keyring.get_keyring()
    report = describe_keyring(backend)
    if not report.safe:
        raise KeyringUnavailable(
            f"{report.detail}。本程序只把设备密钥存放在操作系统的凭据存储中"
            "（Linux：SecretService/gnome-keyring；Windows：凭据管理器），请联系信息技术人员启用后再试。"
        )
    return backend


def probe_keyring(service: str = "field-recorder-doctor") -> KeyringReport:
    """Write, read back and delete a random throwaway secret in the safe keyring.

    Raises KeyringUnavailable (Chinese message) if the backend is unsafe, locked or broken.
    """
    backend = require_safe_keyring()
    report = describe_keyring(backend)
    username = "probe-" + _secrets.token_hex(4)
    value = _secrets.token_hex(16)
    try:
        backend.set_password(service, username, value)
        read_back = backend.get_password(service, username)
        backend.delete_password(service, username)
    except Exception as exc:  # backends raise many kinds (dbus, locked collection, prompt dismissed)
        raise KeyringUnavailable(f"系统密钥环无法读写（{type(exc).__name__}: {exc}），请确认已登录并解锁。") from exc
    if read_back != value:
        raise KeyringUnavailable("系统密钥环读回的内容与写入的不一致，不能用于保存设备密钥。")
    return KeyringReport(report.backend, True, "系统密钥环可以读写")
