#!/usr/bin/env python3
"""Helpers for scripts/mail-servers (standard library only).

  probe.py wait [--imap PORT --user U --password P] [--smtp P1,P2,P3 --ca CERT] [--oauth PORT]
                [--http PORT]
                [--pid PID]...
      Poll until an IMAP LOGIN succeeds, each SMTP port answers EHLO (the second one is
      opened in plain text, the third with implicit TLS) and the OAuth server answers
      GET /health, or until --timeout; exit 1 then, or as soon as one of the --pid processes
      is gone.
  probe.py deliver --port P --from ADDR --to ADDR[,ADDR] FILE
      Send FILE (an .eml) through the plain SMTP port (no TLS, no AUTH).
"""

import argparse
import http.client
import imaplib
import os
import smtplib
import socket
import ssl
import sys
import time


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


def imap_ok(port, user, password):
    try:
        conn = imaplib.IMAP4("127.0.0.1", port, timeout=2)
    except (OSError, imaplib.IMAP4.error):
        return False, "connect failed"
    try:
        conn.login(user, password)
        conn.logout()
        return True, ""
    except (OSError, imaplib.IMAP4.error, EOFError) as e:
        return False, "LOGIN: %s" % e
    finally:
        try:
            conn.shutdown()
        except OSError:
            pass


def smtp_ok(port, tls_ctx=None):
    try:
        if tls_ctx is not None:
            conn = smtplib.SMTP_SSL("127.0.0.1", port, local_hostname="localhost", timeout=2,
                                    context=tls_ctx)
        else:
            conn = smtplib.SMTP("127.0.0.1", port, local_hostname="localhost", timeout=2)
    except (OSError, smtplib.SMTPException) as e:
        return False, "port %d: %s" % (port, e)
    try:
        code, _ = conn.ehlo()
        return code == 250, "port %d: EHLO %d" % (port, code)
    except (OSError, smtplib.SMTPException) as e:
        return False, "port %d: %s" % (port, e)
    finally:
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            conn.close()


def oauth_ok(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/health")
        resp = conn.getresponse()
        body = resp.read()
        return resp.status == 200 and b'"ok": true' in body, "GET /health: %d" % resp.status
    except (OSError, http.client.HTTPException) as e:
        return False, "port %d: %s" % (port, e)
    finally:
        conn.close()


def http_ok(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("OPTIONS", "/")
        resp = conn.getresponse()
        resp.read()
        return True, "OPTIONS /: %d" % resp.status
    except (OSError, http.client.HTTPException) as e:
        return False, "port %d: %s" % (port, e)
    finally:
        conn.close()


def cmd_wait(a):
    deadline = time.monotonic() + a.timeout
    tls_ctx = None
    smtp_ports = [int(p) for p in a.smtp.split(",")] if a.smtp else []
    if smtp_ports:
        tls_ctx = ssl.create_default_context(cafile=a.ca)
    imap_done = a.imap is None
    oauth_done = a.oauth is None
    http_done = a.http is None
    smtp_done = set()
    why = ""
    while True:
        for pid in a.pid:
            if not alive(pid):
                print("process %d exited" % pid, file=sys.stderr)
                return 1
        if not imap_done:
            imap_done, why = imap_ok(a.imap, a.user, a.password)
        if imap_done:
            for i, port in enumerate(smtp_ports):
                if port not in smtp_done:
                    ok, why = smtp_ok(port, tls_ctx if i == 2 else None)
                    if ok:
                        smtp_done.add(port)
                    else:
                        break
        if not oauth_done:
            oauth_done, why_oauth = oauth_ok(a.oauth)
            why = why if oauth_done else why_oauth
        if not http_done:
            http_done, why_http = http_ok(a.http)
            why = why if http_done else why_http
        if imap_done and oauth_done and http_done and len(smtp_done) == len(smtp_ports):
            return 0
        if time.monotonic() > deadline:
            print("not ready after %.0f s: %s" % (a.timeout, why), file=sys.stderr)
            return 1
        time.sleep(0.05)


def cmd_deliver(a):
    with open(a.file, "rb") as f:
        data = f.read()
    rcpts = [r for r in a.to.split(",") if r]
    try:
        with smtplib.SMTP("127.0.0.1", a.port, local_hostname="localhost", timeout=30) as s:
            refused = s.sendmail(a.sender, rcpts, data)
    except smtplib.SMTPRecipientsRefused as e:
        for rcpt, (code, msg) in e.recipients.items():
            print("refused %s: %d %s" % (rcpt, code, msg.decode("utf-8", "replace")),
                  file=sys.stderr)
        return 1
    except smtplib.SMTPResponseException as e:
        print("refused: %d %s" % (e.smtp_code, e.smtp_error.decode("utf-8", "replace")),
              file=sys.stderr)
        return 1
    except (OSError, smtplib.SMTPException) as e:
        print("cannot deliver: %s" % e, file=sys.stderr)
        return 1
    for rcpt, (code, msg) in refused.items():
        print("refused %s: %d %s" % (rcpt, code, msg.decode("utf-8", "replace")), file=sys.stderr)
    print("delivered %s (%d bytes) from <%s> to %s" % (
        os.path.basename(a.file), len(data), a.sender, ", ".join(r for r in rcpts
                                                                  if r not in refused)))
    return 1 if refused else 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("wait")
    w.add_argument("--imap", type=int)
    w.add_argument("--user", default="")
    w.add_argument("--password", default="")
    w.add_argument("--smtp", default="")
    w.add_argument("--ca")
    w.add_argument("--oauth", type=int)
    w.add_argument("--http", type=int)
    w.add_argument("--pid", type=int, action="append", default=[])
    w.add_argument("--timeout", type=float, default=10)
    d = sub.add_parser("deliver")
    d.add_argument("--port", type=int, required=True)
    d.add_argument("--from", dest="sender", required=True)
    d.add_argument("--to", required=True)
    d.add_argument("file")
    a = p.parse_args()
    socket.setdefaulttimeout(10)
    return cmd_wait(a) if a.cmd == "wait" else cmd_deliver(a)


if __name__ == "__main__":
    sys.exit(main())
