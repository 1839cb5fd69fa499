"""Issue 10.7: SIGTERM and SIGHUP (the terminal window closed) end the app like Ctrl+Q.

The whole `imgtui` runs on a pseudo-terminal with a task streaming from a slow demo server;
after the signal the process must exit 128+signal, write the sequences that turn mouse
reporting off and leave the alternate screen, and leave no task `running` in history.
Waits are on what the app writes and stores, never on fixed sleeps.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time
from pathlib import Path

import pytest

from imgtui.store import Store
from imgtui.tasks import Status
from tests.conftest import SRC

pty = pytest.importorskip("pty")

MOUSE_OFF = b"\x1b[?1000l"
LEAVE_ALT_SCREEN = b"\x1b[?1049l"


class App:
    """`imgtui` on a pty, its output collected as it is read."""

    def __init__(self, tmp_path: Path) -> None:
        import fcntl
        import struct
        import termios

        self.data = tmp_path / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "IMGTUI_"))}
        env |= {
            "PYTHONPATH": str(SRC),
            "TERM": "xterm-256color",
            "COLORTERM": "truecolor",
            "IMGTUI_CONFIG_FILE": str(tmp_path / "config.toml"),
            "IMGTUI_DATA_DIR": str(self.data),
            "IMGTUI_RENDERER": "halfcell",
            "IMGTUI_DEMO_DELAY": "60",  # the task is still streaming when the signal comes
        }
        env.pop("TMUX", None)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # pragma: no cover  (the child)
            os.execve(sys.executable, [sys.executable, "-m", "imgtui"], env)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 1000, 600))
        self.out = b""

    def read(self, seconds: float) -> bool:
        """Read for up to `seconds`; False once the pty is closed (the app exited)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                return False
            if not data:
                return False
            self.out += data
        return True

    def wait_for(self, predicate, what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {self.out[-400:]!r}"
            assert self.read(0.1), f"the app exited while waiting for {what}"

    def statuses(self) -> list[Status]:
        store = Store(self.data)
        try:
            store.open()
            return [t.status for t in store.load(limit=5)]
        except Exception:
            return []
        finally:
            store.close()

    def close(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        os.close(self.fd)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_quits_like_ctrl_q_and_restores_the_terminal(tmp_path, signum):
    app = App(tmp_path)
    try:
        app.wait_for(lambda: b"Generate" in app.out, "the footer")
        os.write(app.fd, b"a lighthouse at dusk\r")
        # the header counts it running (the row is saved with the first preview, a third of
        # the demo's 60 s in: waiting for that was most of this test's time)
        app.wait_for(lambda: b"1 running" in app.out, "the task to run")
        mark = len(app.out)

        os.kill(app.pid, signum)
        deadline = time.monotonic() + 30
        while app.read(0.2):
            assert time.monotonic() < deadline, "the app did not exit after the signal"
        _, status = os.waitpid(app.pid, 0)
        after = app.out[mark:]

        assert os.WIFEXITED(status), f"killed by signal {os.WTERMSIG(status)}, not a clean exit"
        assert os.WEXITSTATUS(status) == 128 + signum
        assert MOUSE_OFF in after
        assert LEAVE_ALT_SCREEN in after
        assert b"\x1b[?1049h" not in after[after.rindex(LEAVE_ALT_SCREEN) :]  # and stays out
        assert app.statuses() == [Status.CANCELLED]
    finally:
        app.close()


def test_closing_the_terminal_window_ends_the_app(tmp_path):
    """The window closes (the pty's other end goes away) while a task streams and the
    detail view is open: the kernel sends SIGHUP and SIGCONT, every later write fails, and
    the app must still exit, with the task saved as cancelled (it used to hang: Textual
    took the SIGCONT for a resume and started a second output thread, which died on its
    first write, and the next 30 writes filled its queue and blocked for ever)."""
    app = App(tmp_path)
    try:
        app.wait_for(lambda: b"Generate" in app.out, "the footer")
        os.write(app.fd, b"a lighthouse at dusk\r")
        app.wait_for(lambda: app.statuses() == [Status.RUNNING], "the task to run")
        os.write(app.fd, b"\t")  # the list
        mark = len(app.out)
        os.write(app.fd, b"\r")  # the detail view
        app.wait_for(lambda: b"Prompt" in app.out[mark:], "the detail view")

        os.close(app.fd)  # the window closes: SIGHUP and SIGCONT from the kernel
        app.fd = os.open(os.devnull, os.O_RDONLY)  # for close()
        deadline = time.monotonic() + 30
        while (waited := os.waitpid(app.pid, os.WNOHANG))[0] == 0:
            assert time.monotonic() < deadline, "the app still runs after its window closed"
            time.sleep(0.1)
        _, status = waited
        assert os.WIFEXITED(status), f"killed by signal {os.WTERMSIG(status)}, not an exit"
        assert os.WEXITSTATUS(status) == 128 + signal.SIGHUP
        assert app.statuses() == [Status.CANCELLED]
    finally:
        app.close()
