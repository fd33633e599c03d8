"""Private instances of the desktop services the app relies on, each with its own HOME and
XDG_RUNTIME_DIR, started as child processes and ended by PID.

- SecretService: a private dbus session bus + gnome-keyring-daemon (secrets component, unlocked).
- PulseAudio: a daemon with a null sink and a sine-wave source set as the default source; PortAudio
  reaches it through ALSA's pulse plugin, exactly as on an officer's laptop.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness.system import require_executable


def _private_env(root: Path) -> dict[str, str]:
    home, runtime = root / "home", root / "run"
    home.mkdir(parents=True, exist_ok=True)
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    env = {k: v for k, v in os.environ.items() if k not in {"DBUS_SESSION_BUS_ADDRESS", "PULSE_SERVER"}}
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(runtime), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_CONFIG_HOME=str(home / ".config"))
    return env


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def _end(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(40):
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child (forked dbus-daemon): poll existence
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            done = 0
        if done:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class SecretService:
    root: Path
    bus_address: str = ""
    pids: list[int] = field(default_factory=list)

    def start(self) -> "SecretService":
        require_executable("dbus-daemon")
        require_executable("gnome-keyring-daemon")
        env = _private_env(self.root)
        out = subprocess.run(
            ["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
            env=env, capture_output=True, text=True, check=True, timeout=20,
        ).stdout.split()
        self.bus_address, self.pids = out[0], [int(out[1])]
        env["DBUS_SESSION_BUS_ADDRESS"] = self.bus_address
        keyring_daemon = subprocess.Popen(
            ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        keyring_daemon.stdin.write(b"test-keyring-password")
        keyring_daemon.stdin.close()
        self.pids.append(keyring_daemon.pid)
        _wait_for(lambda: self._service_owned(env), 20, "gnome-keyring on the private bus")
        return self

    @staticmethod
    def _service_owned(env: dict[str, str]) -> bool:
        probe = subprocess.run(
            ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/",
             "org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.secrets"],
            env=env, capture_output=True, text=True, timeout=5,
        )
        return "boolean true" in probe.stdout

    def stop(self) -> None:
        for pid in reversed(self.pids):
            _end(pid)


@dataclass
class PulseAudio:
    root: Path
    server: str = ""
    pid: int = 0

    def start(self) -> "PulseAudio":
        require_executable("pulseaudio")
        require_executable("pactl")
        env = _private_env(self.root)
        socket = Path(env["XDG_RUNTIME_DIR"]) / "pulse" / "native"
        proc = subprocess.Popen(
            ["pulseaudio", "--daemonize=no", "--exit-idle-time=-1", "-n",
             "--load=module-native-protocol-unix auth-anonymous=1",
             "--load=module-null-sink sink_name=null",
             "--load=module-sine-source source_name=sine frequency=440"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.pid = proc.pid
        _wait_for(socket.exists, 20, "the PulseAudio socket")
        self.server = f"unix:{socket}"
        env["PULSE_SERVER"] = self.server
        subprocess.run(["pactl", "set-default-source", "sine"], env=env, check=True, timeout=10)
        subprocess.run(["pactl", "set-default-sink", "null"], env=env, check=True, timeout=10)
        return self

    def stop(self) -> None:
        if self.pid:
            _end(self.pid)


@contextlib.contextmanager
def private_keyring(root: Path):
    """For benchmarks and scripts: reuse the session's keyring if DBUS_SESSION_BUS_ADDRESS is set,
    otherwise start a private SecretService under ``root`` for the duration (env var set meanwhile)."""
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        yield None
        return
    service = SecretService(root / "keyring").start()
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = service.bus_address
    try:
        yield service
    finally:
        os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
        service.stop()
