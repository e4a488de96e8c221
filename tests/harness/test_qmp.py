"""The QMP client against a small fake QMP server."""

import json
import os
import shutil
import socket
import tempfile
import threading
import time
import unittest

import harnesspath  # noqa: F401
from harness.qmp import QMP, QMPError


def fake_qmp_server(path, ready, received=None):
    """Speaks enough QMP for the client.  "x-guest-suspend" stands for the
    guest entering S3: the server answers, then emits SUSPEND, as QEMU does
    when the guest writes SLP_EN; system_wakeup then emits WAKEUP."""
    received = received if received is not None else []
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    ready.set()
    conn, _ = srv.accept()
    f = conn.makefile("rwb")

    def send(obj):
        f.write(json.dumps(obj).encode() + b"\r\n")
        f.flush()
    send({"QMP": {"version": {"qemu": {"major": 7}}, "capabilities": []}})
    for line in f:
        msg = json.loads(line)
        cmd, cid = msg["execute"], msg.get("id")
        received.append(cmd)
        if cmd == "qmp_capabilities":
            send({"return": {}, "id": cid})
        elif cmd == "x-guest-suspend":
            send({"return": {}, "id": cid})
            send({"timestamp": {}, "event": "SUSPEND"})
        elif cmd == "system_wakeup":
            send({"timestamp": {}, "event": "WAKEUP"})
            send({"return": {}, "id": cid})
        elif cmd == "quit":
            send({"return": {}, "id": cid})
            send({"timestamp": {}, "event": "SHUTDOWN",
                  "data": {"guest": False, "reason": "host-qmp-quit"}})
            break
        else:
            send({"error": {"class": "CommandNotFound", "desc": "no %s" % cmd}, "id": cid})
    conn.close()
    srv.close()


class QmpTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="harness-qmp-")
        self.path = os.path.join(self.tmp, "qmp.sock")
        ready = threading.Event()
        self.received = []
        self.thread = threading.Thread(target=fake_qmp_server, args=(self.path, ready, self.received),
                                       daemon=True)
        self.thread.start()
        ready.wait(5)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_session(self):
        q = QMP(self.path, timeout=5)
        self.assertEqual(q.greeting["QMP"]["version"]["qemu"]["major"], 7)
        self.assertEqual(q.command("system_wakeup"), {})
        self.assertEqual(q.wait_event("WAKEUP", timeout=2)["event"], "WAKEUP")
        with self.assertRaises(QMPError) as cm:
            q.command("bogus")
        self.assertIn("CommandNotFound", str(cm.exception))
        q.command("quit")
        ev = q.wait_event("SHUTDOWN", timeout=2)
        self.assertEqual(ev["data"]["reason"], "host-qmp-quit")
        q.wait_closed(2)
        self.assertTrue(q.closed)
        self.assertEqual(q.shutdown_reason(), "host-qmp-quit")
        with self.assertRaises(QMPError):
            q.command("query-status", timeout=1)
        q.close()

    def test_s3_auto_wakeup(self):
        """Every SUSPEND is answered by system_wakeup after the delay, and
        the cycles are counted."""
        q = QMP(self.path, timeout=5)
        try:
            self.assertEqual((q.suspends, q.wakeups, q.s3_cycles), (0, 0, []))
            q.set_auto_wakeup(0.2)
            for n in (1, 2):
                since = len(q.events)
                q.command("x-guest-suspend")
                q.wait_event("WAKEUP", timeout=5, since=since)
                self.assertEqual((q.suspends, q.wakeups), (n, n))
            self.assertEqual(len(q.s3_cycles), 2)
            for suspended, woke in q.s3_cycles:
                self.assertGreaterEqual(woke - suspended, 0.19)
            self.assertEqual(self.received.count("system_wakeup"), 2)
            self.assertEqual(q.wakeup_errors, [])
        finally:
            q.command("quit")
            q.wait_closed(2)
            q.close()

    def test_s3_no_auto_wakeup(self):
        """With auto-wakeup off the guest stays suspended until wakeup()."""
        q = QMP(self.path, timeout=5)
        try:
            q.set_auto_wakeup(None)
            q.command("x-guest-suspend")
            q.wait_event("SUSPEND", timeout=5)
            time.sleep(0.3)
            self.assertEqual((q.suspends, q.wakeups), (1, 0))
            self.assertNotIn("system_wakeup", self.received)
            self.assertEqual(q.s3_cycles[0][1], None)
            self.assertEqual(q.wakeup(timeout=5)["event"], "WAKEUP")
            self.assertEqual((q.suspends, q.wakeups), (1, 1))
            self.assertIsNotNone(q.s3_cycles[0][1])
        finally:
            q.command("quit")
            q.wait_closed(2)
            q.close()

    def test_no_socket(self):
        with self.assertRaises(QMPError):
            QMP(os.path.join(self.tmp, "missing.sock"), timeout=0.3)
        # let the server thread finish
        QMP(self.path, timeout=5).close()


if __name__ == "__main__":
    unittest.main()
