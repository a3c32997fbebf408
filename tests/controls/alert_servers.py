"""A small SMTP server and a webhook receiver on 127.0.0.1, each in its own thread."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class SmtpInbox:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Speaks enough SMTP (RFC 5321) for smtplib: EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    inbox: SmtpInbox

    def handle(self) -> None:
        self._reply("220 127.0.0.1 test SMTP server ready")
        sender, recipients = "", []
        while True:
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode("ascii", errors="replace").rstrip("\r\n")
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self._reply("250 127.0.0.1")
            elif verb == "MAIL":
                sender, recipients = command.partition(":")[2].strip(" <>"), []
                self._reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.partition(":")[2].strip(" <>"))
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 end data with <CR><LF>.<CR><LF>")
                self._data_receive(sender, recipients)
                self._reply("250 OK")
            elif verb in ("RSET", "NOOP"):
                self._reply("250 OK")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("502 command not implemented")

    def _data_receive(self, sender: str, recipients: list[str]) -> None:
        lines = []
        while True:
            line = self.rfile.readline()
            if line in (b".\r\n", b".\n", b""):
                break
            # Undo the dot-stuffing of RFC 5321 section 4.5.2.
            lines.append(line[1:] if line.startswith(b"..") else line)
        message = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
        self.inbox.messages.append(message)  # type: ignore[arg-type]
        self.inbox.envelopes.append((sender, recipients))

    def _reply(self, text: str) -> None:
        self.wfile.write(text.encode("ascii") + b"\r\n")


@contextmanager
def smtp_server() -> Iterator[SmtpInbox]:
    """Run an SMTP server on a free port of 127.0.0.1 until the block ends."""
    inbox = SmtpInbox(host="127.0.0.1", port=0)
    handler = type("Handler", (_SmtpHandler,), {"inbox": inbox})
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler) as server:
        server.daemon_threads = True
        inbox.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield inbox
        finally:
            server.shutdown()
            thread.join(timeout=5)


@dataclass
class WebhookReceiver:
    """Requests received; the first ``fail_first`` requests are answered with HTTP 500."""

    secret: str
    url: str = ""
    fail_first: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0

    @property
    def accepted(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["status"] == 204]


class _WebhookHandler(BaseHTTPRequestHandler):
    receiver: WebhookReceiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        expected = (
            "sha256=" + hmac.new(self.receiver.secret.encode(), body, hashlib.sha256).hexdigest()
        )
        signature = self.headers.get("X-Billguard-Signature", "")
        if not hmac.compare_digest(signature, expected):
            self.receiver.bad_signatures += 1
            status = 401
        elif len(self.receiver.requests) < self.receiver.fail_first:
            status = 500
        else:
            status = 204
        self.receiver.requests.append(
            {
                "status": status,
                "event": self.headers.get("X-Billguard-Event"),
                "signature": signature,
                "json": json.loads(body),
            }
        )
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def webhook_server(secret: str, *, fail_first: int = 0) -> Iterator[WebhookReceiver]:
    """Run a webhook receiver on a free port of 127.0.0.1 until the block ends."""
    receiver = WebhookReceiver(secret=secret, fail_first=fail_first)
    handler = type("Handler", (_WebhookHandler,), {"receiver": receiver})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/billguard"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
