#!/usr/bin/env python3
"""SMTP server for plazo's tests, started by scripts/mail-servers (not meant to be run by hand).

Three listeners on 127.0.0.1, all relaying into Dovecot's LMTP listener, so that accepted mail lands
in the recipient's INBOX with the right owner and a Return-Path header:

  mx          plain, no AUTH (tests inject inbound mail here, like an MX)
  submission  STARTTLS required, then AUTH required (587-style)
  smtps       implicit TLS, AUTH required (465-style)

AUTH PLAIN/LOGIN is checked like Dovecot does (DIR/users/NAME, then DIR/passwd), re-read on
every attempt. AUTH XOAUTH2/OAUTHBEARER tokens are checked with the test OAuth server's
introspection endpoint (--oauth-url); the token's user must be the SASL user (after %Ln).
A refused token gets, depending on the first line of DIR/smtp-oauth-style (read on every
attempt): absent or "direct" -> 535 at once (Microsoft style); "challenge" -> a 334 error
challenge (base64 JSON), then 535 after the client's next line (Gmail style). An unreachable or
failing introspection endpoint gives 454 4.7.0.
Recipients are checked against Dovecot at RCPT time (an LMTP RCPT probe), so unknown users get
Dovecot's 550 there; each accepted message is then delivered over LMTP one recipient at a time.

Failure injection, on the AUTH listeners only (mx keeps working so tests can still inject mail):
  DIR/smtp-fail       its first line (e.g. "451 4.3.0 Try again later") answers every DATA
  DIR/smtp-fail-rcpt  its first line answers every RCPT TO
Delete the file to go back to normal. Both files are read on every command.
"""

import argparse
import asyncio
import base64
import binascii
import collections
import hmac
import json
import logging
import os
import re
import signal
import smtplib
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
import warnings

warnings.filterwarnings("ignore", module="aiosmtpd")

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword  # noqa: E402

LOG = logging.getLogger("smtp")
HOST = "127.0.0.1"
RESPONSE_RE = re.compile(r"^[2-5][0-9][0-9]( .*)?$")

# RFC 4954 4: an AUTH command line (or a response to a 334) may be up to 12288 octets. Real
# access tokens are 1-3 KB, 4/3 more in base64: aiosmtpd's 512-octet command limit and 1001-octet
# stream line limit would refuse them.
AUTH_COMMAND_LIMIT = 12288
AUTH_LINE_LIMIT = AUTH_COMMAND_LIMIT + 2
INTROSPECT_TIMEOUT = 5
CODE_OAUTH_OK = "235 2.7.0 Authentication successful"
CODE_OAUTH_INVALID = "535 5.7.8 Authentication credentials invalid"
CODE_OAUTH_TEMPFAIL = "454 4.7.0 Temporary authentication failure"
# Gmail's SMTP error challenge for a refused token.
OAUTH_ERROR_CHALLENGE = json.dumps({"status": "401", "schemes": "bearer", "scope": "mail"},
                                   separators=(",", ":"))


def normalize_user(login):
    """Dovecot's auth_username_format = %Ln: lowercase, without the domain."""
    if isinstance(login, bytes):
        login = login.decode("utf-8", "replace")
    return login.split("@", 1)[0].lower()


def read_lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []
    except OSError as e:
        LOG.error("cannot read %s: %s", path, e)
        return []


def check_password(base_dir, login, password):
    """Like Dovecot here: DIR/users/NAME first, then DIR/passwd (both read on every attempt)."""
    user = normalize_user(login)
    if isinstance(password, bytes):
        password = password.decode("utf-8", "replace")
    if not re.match(r"^[a-z0-9._-]+$", user):
        return False
    for path in (os.path.join(base_dir, "users", user), os.path.join(base_dir, "passwd")):
        found = stored_password(read_lines(path), user)
        if found is not None and hmac.compare_digest(found.encode(), password.encode()):
            return True
    return False


def stored_password(lines, user):
    for line in lines:
        if not line or line.startswith("#"):
            continue
        fields = line.split(":")
        if len(fields) < 2 or fields[0].lower() != user:
            continue
        stored = fields[1]
        m = re.match(r"^\{([A-Za-z0-9._-]+)\}(.*)$", stored)
        if m:
            if m.group(1).upper() not in ("PLAIN", "CLEARTEXT", "CLEAR"):
                LOG.warning("user %s: scheme {%s} not supported here", user, m.group(1))
                return None
            stored = m.group(2)
        return stored
    return None


def injected_failure(path):
    """First line of the hook file as an SMTP response, or None when the file is absent."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        LOG.error("cannot read %s: %s", path, e)
        return None
    line = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not RESPONSE_RE.match(line) or line.startswith(("2", "3")):
        line = "451 4.3.0 Injected failure" + (" (%s)" % line if line else "")
    return line


def response_text(code, msg):
    if isinstance(msg, bytes):
        msg = msg.decode("utf-8", "replace")
    msg = " ".join(msg.split())  # one line
    return "%d %s" % (code, msg) if msg else "%d" % code


class Relay:
    """Handler shared by the listeners: RCPT probe and delivery through Dovecot's LMTP."""

    def __init__(self, args, name, auth_listener):
        self.args = args
        self.name = name
        self.auth_listener = auth_listener
        self.fail_data = os.path.join(args.dir, "smtp-fail")
        self.fail_rcpt = os.path.join(args.dir, "smtp-fail-rcpt")

    def lmtp(self):
        return smtplib.LMTP(HOST, self.args.lmtp_port, local_hostname="localhost", timeout=30)

    # Blocking LMTP work, run in a thread.

    def probe_rcpt(self, address):
        try:
            conn = self.lmtp()
        except OSError as e:
            LOG.warning("[%s] LMTP unavailable for RCPT %s: %s", self.name, address, e)
            return "451 4.4.1 Mailbox server unavailable, try again later"
        try:
            conn.ehlo_or_helo_if_needed()
            code, msg = conn.mail("")
            if code != 250:
                return response_text(code, msg)
            code, msg = conn.rcpt(address)
            return "250 2.1.5 OK" if code == 250 else response_text(code, msg)
        except (OSError, smtplib.SMTPException) as e:
            LOG.warning("[%s] LMTP error for RCPT %s: %s", self.name, address, e)
            return "451 4.4.2 Mailbox server error, try again later"
        finally:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                conn.close()

    def deliver(self, mail_from, rcpts, content, mail_options):
        """Deliver to each recipient in its own LMTP transaction; returns [(rcpt, response)]."""
        options = [o for o in mail_options if o.upper().startswith("BODY=")]
        results = []
        try:
            conn = self.lmtp()
        except OSError as e:
            LOG.warning("[%s] LMTP unavailable: %s", self.name, e)
            return [(r, "451 4.4.1 Mailbox server unavailable, try again later") for r in rcpts]
        try:
            conn.ehlo_or_helo_if_needed()
            for rcpt in rcpts:
                try:
                    code, msg = conn.mail(mail_from, options)
                    if code == 250:
                        code, msg = conn.rcpt(rcpt)
                    if code == 250:
                        code, msg = conn.data(content)
                    else:
                        conn.rset()
                    results.append((rcpt, response_text(code, msg)))
                except smtplib.SMTPDataError as e:
                    conn.rset()
                    results.append((rcpt, response_text(e.smtp_code, e.smtp_error)))
        except (OSError, smtplib.SMTPException) as e:
            LOG.warning("[%s] LMTP error: %s", self.name, e)
            done = {r for r, _ in results}
            results += [(r, "451 4.4.2 Mailbox server error, try again later")
                        for r in rcpts if r not in done]
        finally:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                conn.close()
        return results

    # aiosmtpd hooks.

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.auth_listener:
            failure = injected_failure(self.fail_rcpt)
            if failure:
                LOG.info("[%s] RCPT %s refused by smtp-fail-rcpt: %s", self.name, address, failure)
                return failure
        answer = await asyncio.get_running_loop().run_in_executor(None, self.probe_rcpt, address)
        if answer.startswith("250"):
            envelope.rcpt_tos.append(address)
        else:
            LOG.info("[%s] RCPT %s refused: %s", self.name, address, answer)
        return answer

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        sender = envelope.mail_from or ""
        who = "mail from=%s rcpt=%s size=%d" % (
            sender if sender.startswith("<") else "<%s>" % sender,
            ",".join("<%s>" % r for r in envelope.rcpt_tos), len(content))
        user = " auth=%s" % session.auth_data if session.authenticated else ""
        if self.auth_listener:
            failure = injected_failure(self.fail_data)
            if failure:
                LOG.info("[%s] refused by smtp-fail: %s%s: %s", self.name, who, user, failure)
                return failure
        results = await asyncio.get_running_loop().run_in_executor(
            None, self.deliver, envelope.mail_from, list(envelope.rcpt_tos), content,
            envelope.mail_options)
        failed = [(r, a) for r, a in results if not a.startswith("2")]
        for rcpt, answer in results:
            LOG.info("[%s] %s%s -> <%s>: %s", self.name, who, user, rcpt, answer)
        if failed and len(failed) == len(results):
            return failed[0][1]
        if failed:
            LOG.warning("[%s] partial delivery: %d of %d recipients failed (answered 250)",
                        self.name, len(failed), len(results))
        LOG.info("[%s] accepted %s%s", self.name, who, user)
        return "250 2.0.0 OK: delivered to %d recipient(s)" % (len(results) - len(failed))


def parse_kv(fields):
    """SASL key=value fields separated by ^A -> dict (keys lowercased)."""
    out = {}
    for field in fields:
        if field:
            k, sep, v = field.partition("=")
            if not sep:
                return None
            out[k.lower()] = v
    return out


def parse_bearer(auth):
    if auth is None:
        return None
    scheme, _, token = auth.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def parse_xoauth2(blob):
    """'user=U^Aauth=Bearer T^A^A' -> (user, token), or None when malformed."""
    text = blob.decode("utf-8", "replace")
    if not text.endswith("\x01\x01"):
        return None
    kv = parse_kv(text[:-2].split("\x01"))
    if not kv or not kv.get("user"):
        return None
    token = parse_bearer(kv.get("auth"))
    return (kv["user"], token) if token else None


def parse_oauthbearer(blob):
    """RFC 7628: 'n,a=U,^Ahost=H^Aport=P^Aauth=Bearer T^A^A' -> (user or '', token) or None."""
    text = blob.decode("utf-8", "replace")
    if not text.endswith("\x01\x01"):
        return None
    gs2, sep, rest = text[:-2].partition("\x01")
    if not sep:
        return None
    parts = gs2.split(",")
    if len(parts) != 3 or parts[0] not in ("n", "y") or parts[2] != "":
        return None
    user = ""
    if parts[1]:
        if not parts[1].startswith("a="):
            return None
        user = parts[1][2:].replace("=2C", ",").replace("=3D", "=")
    kv = parse_kv(rest.split("\x01"))
    if kv is None:
        return None
    token = parse_bearer(kv.get("auth"))
    return (user, token) if token else None


class OAuthSMTP(SMTP):
    """aiosmtpd's SMTP with room for real-size tokens in AUTH (and in the reply to a 334)."""

    # The class attribute sizes the stream reader, made in SMTP.__init__ ...
    line_length_limit = AUTH_LINE_LIMIT

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # ... while DATA keeps checking its lines against the usual 1001 octets.
        self.line_length_limit = SMTP.line_length_limit
        # Per connection (aiosmtpd's dict is shared by all instances).
        self.command_size_limits = collections.defaultdict(
            lambda: SMTP.command_size_limit, {"AUTH": AUTH_COMMAND_LIMIT})


class AuthRelay(Relay):
    """Relay for the AUTH listeners: adds the XOAUTH2 and OAUTHBEARER mechanisms."""

    def __init__(self, args, name):
        super().__init__(args, name, True)
        self.style_file = os.path.join(args.dir, "smtp-oauth-style")
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def introspect(self, token):
        """Blocking: ("active", user) | ("inactive", None) | ("error", why)."""
        data = urllib.parse.urlencode({
            "token": token, "client_id": self.args.oauth_client_id,
            "client_secret": self.args.oauth_client_secret}).encode()
        req = urllib.request.Request(
            self.args.oauth_url.rstrip("/") + "/introspect", data,
            {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
        try:
            with self.opener.open(req, timeout=INTROSPECT_TIMEOUT) as resp:
                body = json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return "error", "introspection answered HTTP %d" % e.code
        except (OSError, ValueError) as e:
            reason = getattr(e, "reason", e)
            return "error", "introspection failed: %s" % reason
        if not isinstance(body, dict):
            return "error", "introspection answer is not a JSON object"
        if body.get("active") is True:
            user = body.get("email") or body.get("username") or body.get("sub")
            return ("active", user) if user else ("error", "active token without a user")
        return "inactive", None

    def failure_style(self):
        lines = read_lines(self.style_file)
        style = lines[0].strip().lower() if lines else ""
        if style in ("", "direct", "challenge"):
            return style or "direct"
        LOG.warning("[%s] %s: unknown style %r, using direct", self.name, self.style_file, style)
        return "direct"

    async def auth_XOAUTH2(self, server, args):
        return await self.oauth(server, args, "XOAUTH2", parse_xoauth2)

    async def auth_OAUTHBEARER(self, server, args):
        return await self.oauth(server, args, "OAUTHBEARER", parse_oauthbearer)

    async def oauth(self, server, args, mechanism, parse):
        # Initial response on the AUTH line, or after an empty 334 (no SASL-IR).
        if len(args) == 1:
            blob = await server.challenge_auth("")
            if blob is MISSING:  # "*" or bad base64: aiosmtpd has answered 501
                LOG.info("[%s] AUTH %s: aborted by the client", self.name, mechanism)
                return AuthResult(success=False, handled=True)
        elif args[1] == "=":
            blob = b""
        else:
            try:
                blob = base64.b64decode(args[1].encode(), validate=True)
            except (binascii.Error, ValueError):
                LOG.info("[%s] AUTH %s: bad base64", self.name, mechanism)
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        parsed = parse(blob)
        if parsed is None:
            LOG.info("[%s] AUTH %s: malformed initial response", self.name, mechanism)
            await server.push("501 5.5.2 Malformed %s initial response" % mechanism)
            return AuthResult(success=False, handled=True)
        sasl_user, token = parsed
        result, detail = await asyncio.get_running_loop().run_in_executor(
            None, self.introspect, token)
        shown = sasl_user or "(none)"
        if result == "error":
            LOG.info("[%s] AUTH %s user=%s: temporary failure (%s)", self.name, mechanism, shown,
                     detail)
            return AuthResult(success=False, handled=False, message=CODE_OAUTH_TEMPFAIL)
        if result == "active" and (not sasl_user or normalize_user(detail) ==
                                   normalize_user(sasl_user)):
            LOG.info("[%s] AUTH %s user=%s: ok", self.name, mechanism, shown)
            return AuthResult(success=True, auth_data=normalize_user(sasl_user or detail),
                              message=CODE_OAUTH_OK)
        why = "token inactive" if result == "inactive" else "token is for %s" % detail
        style = self.failure_style()
        if style == "challenge":
            reply = await server.challenge_auth(OAUTH_ERROR_CHALLENGE)
            if reply is MISSING:
                LOG.info("[%s] AUTH %s user=%s: refused (%s), challenge aborted", self.name,
                         mechanism, shown, why)
                return AuthResult(success=False, handled=True)
        LOG.info("[%s] AUTH %s user=%s: refused (%s, %s style)", self.name, mechanism, shown, why,
                 style)
        return AuthResult(success=False, handled=False, message=CODE_OAUTH_INVALID)


def make_authenticator(base_dir, name):
    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = check_password(base_dir, auth_data.login, auth_data.password)
        LOG.info("[%s] AUTH %s user=%s: %s", name, mechanism,
                 auth_data.login.decode("utf-8", "replace"), "ok" if ok else "refused")
        return AuthResult(success=ok, handled=False,
                          auth_data=normalize_user(auth_data.login) if ok else None)
    return authenticator


def tls_context(args):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(args.cert, args.key)
    return ctx


async def main(args):
    ctx = tls_context(args)
    loop = asyncio.get_running_loop()

    def factory(name, **kw):
        auth = name != "mx"
        handler = AuthRelay(args, name) if auth else Relay(args, name, False)
        cls = OAuthSMTP if auth else SMTP

        def make():
            if auth:
                kw.update(authenticator=make_authenticator(args.dir, name), auth_required=True)
            return cls(handler, hostname="localhost", ident="plazo test SMTP (%s)" % name,
                       data_size_limit=args.max_size, **kw)
        return make

    servers = [
        await loop.create_server(factory("mx"), HOST, args.mx_port),
        await loop.create_server(
            factory("submission", tls_context=ctx, require_starttls=True, auth_require_tls=True),
            HOST, args.submission_port),
        # aiosmtpd only knows about STARTTLS: with implicit TLS, auth_require_tls must be False
        # or it never offers AUTH.
        await loop.create_server(factory("smtps", auth_require_tls=False), HOST,
                                 args.smtps_port, ssl=ctx),
    ]
    LOG.info("listening on %s: mx %d, submission (STARTTLS) %d, smtps (TLS) %d; LMTP relay %d; "
             "tokens checked at %s/introspect", HOST, args.mx_port, args.submission_port,
             args.smtps_port, args.lmtp_port, args.oauth_url)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for s in servers:
        s.close()
    LOG.info("stopped")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", required=True)
    p.add_argument("--mx-port", type=int, required=True)
    p.add_argument("--submission-port", type=int, required=True)
    p.add_argument("--smtps-port", type=int, required=True)
    p.add_argument("--lmtp-port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--max-size", type=int, default=32 * 1024 * 1024)
    p.add_argument("--oauth-url", default="http://127.0.0.1:24080",
                   help="base URL of the OAuth server (its /introspect checks tokens)")
    p.add_argument("--oauth-client-id", default="plazo-test")
    p.add_argument("--oauth-client-secret", default="plazo-test-secret")
    return p.parse_args()


if __name__ == "__main__":
    a = parse_args()
    logging.basicConfig(
        stream=sys.stdout, level=logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s")
    # aiosmtpd's mail.log logger is chatty at INFO (every connection); keep its warnings, less
    # two that it repeats on every connection here and that are expected.
    mail_log = logging.getLogger("mail.log")
    mail_log.setLevel(logging.WARNING)
    mail_log.addFilter(lambda r: not r.getMessage().startswith(
        ("auth_required == True but auth_require_tls == False", "Session.login_data is deprecated")))
    try:
        asyncio.run(main(a))
    except OSError as e:
        LOG.error("cannot start: %s", e)
        sys.exit(1)
