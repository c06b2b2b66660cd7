#!/usr/bin/env python3
"""End-to-end check of the OAuth2 parts of scripts/mail-servers (standard library only).

  python3 scripts/mail-servers.d/oauth-selftest.py DIR

DIR must have been started with `scripts/mail-servers start DIR`. The check RESETS the OAuth
server of DIR, adds the users ana and bob (passwords selftest-ana, selftest-bob), stops and
starts the OAuth server once: run it on a DIR of its own, not on one a test suite is using.
Prints one line per check; exit 0 when all pass, 1 otherwise.
"""

import base64
import hashlib
import imaplib
import json
import os
import secrets
import smtplib
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(os.path.dirname(HERE), "mail-servers")
HOST = "127.0.0.1"
USERS = {"ana": "selftest-ana", "bob": "selftest-bob"}
ANA = "ana@example.test"
BOB = "bob@example.test"

FAILED = []
SECRETS = []  # every token, code and verifier seen: none may appear in a log


def check(ok, what, detail=""):
    print("%s - %s%s" % ("ok" if ok else "FAIL", what, (": %s" % (detail,)) if detail and not ok
                         else ""), flush=True)
    if not ok:
        FAILED.append(what)
    return ok


def keep(*values):
    for v in values:
        if v:
            SECRETS.append(v)
    return values[0] if len(values) == 1 else values


# ---------------------------------------------------------------- HTTP (the OAuth server)

class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())


class OAuthClient:
    def __init__(self, env):
        self.url = env["OAUTH_URL"]
        self.client_id = env["OAUTH_CLIENT_ID"]
        self.secret = env["OAUTH_CLIENT_SECRET"]

    def request(self, method, path, body=None, headers=None):
        req = urllib.request.Request(self.url + path, body, headers or {}, method=method)
        try:
            with OPENER.open(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def control(self, name, body=None, method="POST"):
        data = json.dumps(body).encode() if body is not None else None
        status, _, raw = self.request(method, "/control/" + name, data,
                                      {"Content-Type": "application/json"})
        return status, json.loads(raw)

    def form(self, path, fields, basic=None):
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if basic:
            cred = "%s:%s" % (urllib.parse.quote(basic[0], safe=""),
                              urllib.parse.quote(basic[1], safe=""))
            headers["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
        status, hdrs, raw = self.request("POST", path, urllib.parse.urlencode(fields).encode(),
                                         headers)
        return status, hdrs, json.loads(raw)

    def token(self, fields, auth="form", client=None):
        """auth: "form" (client_id + client_secret fields), "basic", or "public"."""
        fields = dict(fields)
        cid, secret = client or (self.client_id, self.secret)
        basic = None
        if auth == "basic":
            basic = (cid, secret)
        else:
            fields["client_id"] = cid
            if auth == "form":
                fields["client_secret"] = secret
        status, _, body = self.form("/token", fields, basic)
        keep(body.get("access_token"), body.get("refresh_token"))
        return status, body

    def refresh(self, rt, **kw):
        return self.token({"grant_type": "refresh_token", "refresh_token": rt}, **kw)

    def introspect(self, token):
        return self.form("/introspect", {"token": token})[2]


# ---------------------------------------------------------------- SASL

def xoauth2(user, token):
    return ("user=%s\x01auth=Bearer %s\x01\x01" % (user, token)).encode()


def oauthbearer(user, token, port):
    return ("n,a=%s,\x01host=%s\x01port=%d\x01auth=Bearer %s\x01\x01" % (
        user.replace("=", "=3D").replace(",", "=2C"), HOST, port, token)).encode()


def imap_oauth(env, mech, user, token):
    """AUTHENTICATE over plain IMAP (imaplib: no SASL-IR). -> (ok, text, error challenges)."""
    port = int(env["IMAP_PORT"])
    blob = xoauth2(user, token) if mech == "XOAUTH2" else oauthbearer(user, token, port)
    challenges = []

    def respond(challenge):
        if not challenges and challenge in (b"", None):
            challenges.append(None)
            return blob
        challenges.append(challenge)
        return b""

    conn = imaplib.IMAP4(HOST, port, timeout=10)
    try:
        typ, data = conn.authenticate(mech, respond)
        return typ == "OK", data[0].decode() if data and data[0] else "", challenges[1:]
    except imaplib.IMAP4.error as e:
        return False, str(e), challenges[1:]
    finally:
        try:
            conn.logout()
        except (OSError, imaplib.IMAP4.error):
            conn.shutdown()


def imap_sasl_ir(env, mech, user, token):
    """AUTHENTICATE with the initial response on the command line (SASL-IR), raw socket, one
    write per line. -> (tagged answer, seconds from the command to the tagged answer)."""
    port = int(env["IMAP_PORT"])
    blob = xoauth2(user, token) if mech == "XOAUTH2" else oauthbearer(user, token, port)
    with socket.create_connection((HOST, port), timeout=10) as s:
        f = s.makefile("rb")
        f.readline()
        t0 = time.monotonic()
        s.sendall(b"a AUTHENTICATE " + mech.encode() + b" " + base64.b64encode(blob) + b"\r\n")
        while True:
            line = f.readline()
            if not line:
                return "(connection closed)", time.monotonic() - t0
            if line.startswith(b"+"):
                s.sendall(b"\r\n")  # answer an error challenge with an empty response
            elif line.startswith(b"a "):
                break
        elapsed = time.monotonic() - t0
        s.sendall(b"b LOGOUT\r\n")
    return line.decode().strip(), elapsed


def imap_login(env, user, password):
    conn = imaplib.IMAP4(HOST, int(env["IMAP_PORT"]), timeout=10)
    try:
        conn.login(user, password)
        return True, conn
    except imaplib.IMAP4.error as e:
        conn.shutdown()
        return False, str(e)


def smtp_open(env, kind, ctx):
    if kind == "submission":
        s = smtplib.SMTP(HOST, int(env["SUBMISSION_PORT"]), local_hostname="localhost",
                         timeout=10)
        s.ehlo()
        s.starttls(context=ctx)
        s.ehlo()
    else:
        s = smtplib.SMTP_SSL(HOST, int(env["SMTPS_PORT"]), local_hostname="localhost",
                             timeout=10, context=ctx)
        s.ehlo()
    return s


def smtp_oauth(s, env, kind, mech, user, token, initial=True):
    """-> (code, text, [decoded error challenges]); empty lines answer the challenges."""
    port = int(env["SUBMISSION_PORT" if kind == "submission" else "SMTPS_PORT"])
    blob = xoauth2(user, token) if mech == "XOAUTH2" else oauthbearer(user, token, port)
    b64 = base64.b64encode(blob).decode()
    if initial:
        code, text = s.docmd("AUTH", "%s %s" % (mech, b64))
    else:
        code, text = s.docmd("AUTH", mech)
        if code != 334 or text.strip():
            return code, text.decode(), ["unexpected first answer"]
        code, text = s.docmd(b64)
    challenges = []
    while code == 334 and len(challenges) < 3:
        challenges.append(base64.b64decode(text).decode())
        code, text = s.docmd("")
    return code, text.decode(), challenges


def smtp_try(env, kind, ctx, mech, user, token, initial=True):
    s = smtp_open(env, kind, ctx)
    try:
        return smtp_oauth(s, env, kind, mech, user, token, initial)
    finally:
        try:
            s.quit()
        except (OSError, smtplib.SMTPException):
            s.close()


def script(*args):
    r = subprocess.run([SCRIPT] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=60)
    return r.returncode, r.stdout


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return keep(verifier), challenge


# ---------------------------------------------------------------- the checks

def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = os.path.abspath(sys.argv[1])
    env = {}
    with open(os.path.join(d, "servers.env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            if k:
                env[k] = v
    socket.setdefaulttimeout(15)
    ctx = ssl.create_default_context(cafile=env["CA_FILE"])
    oa = OAuthClient(env)
    style_file = os.path.join(d, "smtp-oauth-style")
    started = time.monotonic()
    # What the counters must say at the end.
    want = dict(refresh_token=0, authorization_code=0, device_code=0, token_requests=0,
                token_failures=0, introspect=0, introspect_active=0, device_polls=0)
    by_user = {}

    def refreshed(user):
        want["refresh_token"] += 1
        by_user[user] = by_user.get(user, 0) + 1

    def token_auths(n, active):
        """n token logins checked by Dovecot or the SMTP server (one introspection each)."""
        want["introspect"] += n
        want["introspect_active"] += n if active else 0

    print("# setup")
    status, body = oa.control("reset")
    check(status == 200 and body == {"reset": True}, "reset the OAuth server")
    status, settings = oa.control("settings", {})
    check(settings == {"access_ttl": 3600, "rotate": False, "token_bytes": 2000,
                       "device_interval": 1, "device_ttl": 600, "slow_down": 0,
                       "token_fail": 0, "default_user": ANA}, "settings are the defaults",
          settings)
    if os.path.exists(style_file):
        os.unlink(style_file)
    for name, password in USERS.items():
        rc, out = script("adduser", d, name, password)
        check(rc == 0, "adduser %s" % name, out)

    print("# client authentication and refresh")
    status, body = oa.control("seed", {"user": ANA})
    rt = keep(body.get("refresh_token"))
    check(status == 200 and rt and len(rt) >= 30, "seed a grant for %s" % ANA, body)
    status, tok = oa.refresh(rt, auth="basic")
    want["token_requests"] += 1
    refreshed(ANA)
    at = tok.get("access_token", "")
    check(status == 200 and tok.get("token_type") == "Bearer" and tok.get("expires_in") == 3600
          and tok.get("scope") == "mail" and "refresh_token" not in tok,
          "refresh with HTTP Basic client auth (no rotation: no refresh_token in the answer)", tok)
    check(len(at) == 2000 and all(c.isalnum() or c in "-_" for c in at),
          "access token is 2000 URL-safe characters", len(at))
    status, tok2 = oa.refresh(rt, auth="form")
    want["token_requests"] += 1
    refreshed(ANA)
    check(status == 200 and tok2.get("access_token") not in (None, at),
          "refresh with client_id/client_secret form fields gives a new access token", status)
    status, body = oa.refresh(rt, auth="form", client=("plazo-test", "wrong"))
    want["token_requests"] += 1
    check(status == 401 and body.get("error") == "invalid_client",
          "wrong secret: 401 invalid_client", (status, body))
    status, body = oa.form("/token", {"grant_type": "refresh_token", "refresh_token": rt,
                                      "client_id": "plazo-test"})[::2]
    want["token_requests"] += 1
    check(status == 401 and body.get("error") == "invalid_client",
          "confidential client without a secret: 401 invalid_client", (status, body))
    status, body = oa.refresh(rt, auth="public", client=("nobody", None))
    want["token_requests"] += 1
    check(status == 401 and body.get("error") == "invalid_client",
          "unknown client: 401 invalid_client", (status, body))
    status, body = oa.refresh(rt, auth="public", client=("plazo-public", None))
    want["token_requests"] += 1
    check(status == 400 and body.get("error") == "invalid_grant",
          "refresh token of another client: invalid_grant", (status, body))
    status, body = oa.token({"grant_type": "password", "username": "ana", "password": "x"})
    want["token_requests"] += 1
    check(status == 400 and body.get("error") == "unsupported_grant_type",
          "password grant: unsupported_grant_type", (status, body))
    status, body = oa.refresh("not-a-refresh-token")
    want["token_requests"] += 1
    check(status == 400 and body.get("error") == "invalid_grant" and body.get(
        "error_description"), "unknown refresh token: invalid_grant with a description", body)
    check(oa.introspect(at).get("active") is True, "introspection: the access token is active")
    want["introspect"] += 1
    want["introspect_active"] += 1

    print("# rotation")
    status, s = oa.control("settings", {"rotate": True})
    check(status == 200 and s.get("rotate") is True, "settings rotate=true")
    status, tok = oa.refresh(rt)
    want["token_requests"] += 1
    refreshed(ANA)
    rt2 = tok.get("refresh_token")
    check(status == 200 and rt2 and rt2 != rt, "rotating refresh answers a new refresh token",
          (status, tok.keys()))
    status, body = oa.refresh(rt)
    want["token_requests"] += 1
    check(status == 400 and body.get("error") == "invalid_grant" and "rotated" in body.get(
        "error_description", ""), "the rotated-away refresh token: invalid_grant", body)
    status, tok = oa.refresh(rt2)
    want["token_requests"] += 1
    refreshed(ANA)
    rt3 = tok.get("refresh_token")
    check(status == 200 and rt3 and rt3 != rt2, "the new refresh token works (and rotates again)")
    oa.control("settings", {"rotate": False})
    status, tok = oa.refresh(rt3)
    want["token_requests"] += 1
    refreshed(ANA)
    check(status == 200 and "refresh_token" not in tok, "rotate=false again: same refresh token")
    rt = rt3
    at = tok["access_token"]

    print("# IMAP with a good token")
    for mech in ("XOAUTH2", "OAUTHBEARER"):
        ok, text, ch = imap_oauth(env, mech, ANA, at)
        token_auths(1, True)
        check(ok, "IMAP AUTHENTICATE %s as %s: OK" % (mech, ANA), text)
    ok, text, ch = imap_oauth(env, "XOAUTH2", "ana", at)
    token_auths(1, True)
    check(ok, "IMAP XOAUTH2 as plain 'ana' with ana@example.test's token: OK (%Ln)", text)
    ok, text, ch = imap_oauth(env, "XOAUTH2", BOB, at)
    token_auths(1, True)
    check(not ok and "[AUTHENTICATIONFAILED]" in text,
          "IMAP XOAUTH2 as bob with ana's token: NO [AUTHENTICATIONFAILED]", text)

    print("# SMTP with a good token")
    for kind in ("submission", "smtps"):
        for mech in ("XOAUTH2", "OAUTHBEARER"):
            for initial in (True, False):
                code, text, ch = smtp_try(env, kind, ctx, mech, ANA, at, initial)
                token_auths(1, True)
                check(code == 235 and text.startswith("2.7.0 Authentication successful"),
                      "SMTP %s (%s) AUTH %s %s: 235" % (
                          kind, env["SUBMISSION_PORT" if kind == "submission" else "SMTPS_PORT"],
                          mech, "with initial response" if initial else "after 334"),
                      (code, text, ch))
    code, text, ch = smtp_try(env, "submission", ctx, "XOAUTH2", BOB, at)
    token_auths(1, True)
    check(code == 535, "SMTP XOAUTH2 as bob with ana's token: 535", (code, text))

    subject = "oauth selftest %s" % secrets.token_hex(6)
    for kind in ("submission", "smtps"):
        s = smtp_open(env, kind, ctx)
        code, text, ch = smtp_oauth(s, env, kind, "XOAUTH2", ANA, at)
        token_auths(1, True)
        msg = ("From: %s\r\nTo: %s\r\nSubject: %s via %s\r\nMessage-ID: <%s@example.test>\r\n"
               "\r\nSent with an OAuth2 token.\r\n" % (ANA, BOB, subject, kind,
                                                        secrets.token_hex(8)))
        refused = s.sendmail(ANA, [BOB], msg)
        s.quit()
        check(code == 235 and not refused, "SMTP %s: mail sent to bob after XOAUTH2" % kind)
    ok, conn = imap_login(env, "bob", USERS["bob"])
    found = []
    if ok:
        conn.select("INBOX")
        for kind in ("submission", "smtps"):
            typ, data = conn.search(None, "SUBJECT", '"%s via %s"' % (subject, kind))
            found.append(bool(data and data[0].split()))
        conn.logout()
    check(ok and found == [True, True], "both messages are in bob's INBOX", found)

    print("# big token (4000 characters)")
    oa.control("settings", {"token_bytes": 4000})
    status, tok = oa.refresh(rt)
    want["token_requests"] += 1
    refreshed(ANA)
    big = tok.get("access_token", "")
    check(len(big) == 4000, "token_bytes=4000 gives a 4000-character token", len(big))
    ok, text, _ = imap_oauth(env, "OAUTHBEARER", ANA, big)
    token_auths(1, True)
    check(ok, "IMAP OAUTHBEARER with it: OK", text)
    for initial in (True, False):
        code, text, _ = smtp_try(env, "submission", ctx, "XOAUTH2", ANA, big, initial)
        token_auths(1, True)
        check(code == 235, "SMTP XOAUTH2 with it (%s): 235" % (
            "initial response" if initial else "after 334"), (code, text))
    oa.control("settings", {"token_bytes": 2000})

    print("# expired token")
    status, body = oa.control("expire", {"user": ANA})
    check(status == 200 and body.get("expired", 0) >= 4,
          "expire all of ana's access tokens", body)
    check(oa.introspect(at) == {"active": False}, "introspection: {\"active\": false}")
    want["introspect"] += 1
    for mech in ("XOAUTH2", "OAUTHBEARER"):
        t0 = time.monotonic()
        ok, text, ch = imap_oauth(env, mech, ANA, at)
        token_auths(1, False)
        check(not ok and "[AUTHENTICATIONFAILED]" in text,
              "IMAP %s with the expired token: NO [AUTHENTICATIONFAILED] "
              "(%.2f s; error challenge %s)" % (mech, time.monotonic() - t0,
                                                ch[0] if ch else None), text)
    for kind in ("submission", "smtps"):
        for mech in ("XOAUTH2", "OAUTHBEARER"):
            code, text, ch = smtp_try(env, kind, ctx, mech, ANA, at)
            token_auths(1, False)
            check(code == 535 and text.startswith("5.7.8") and not ch,
                  "SMTP %s %s, direct style: 535 5.7.8 at once" % (kind, mech), (code, text, ch))
    with open(style_file, "w") as f:
        f.write("challenge\n")
    for kind in ("submission", "smtps"):
        for mech in ("XOAUTH2", "OAUTHBEARER"):
            code, text, ch = smtp_try(env, kind, ctx, mech, ANA, at, initial=(kind == "smtps"))
            token_auths(1, False)
            check(code == 535 and len(ch) == 1 and json.loads(ch[0]) == {
                "status": "401", "schemes": "bearer", "scope": "mail"},
                "SMTP %s %s, challenge style: 334 %s, empty line, then 535" % (
                    kind, mech, ch[0] if ch else "?"), (code, text, ch))
    os.unlink(style_file)
    status, tok = oa.refresh(rt)
    want["token_requests"] += 1
    refreshed(ANA)
    at = tok.get("access_token", "")
    ok, text, _ = imap_oauth(env, "XOAUTH2", ANA, at)
    token_auths(1, True)
    check(status == 200 and ok, "after expiry, a refresh gives a token that works again", text)

    print("# revoked grant")
    status, body = oa.control("revoke", {"user": ANA})
    check(status == 200 and body == {"revoked": 1}, "revoke ana's grant", body)
    status, body = oa.refresh(rt)
    want["token_requests"] += 1
    check(status == 400 and body.get("error") == "invalid_grant",
          "refresh after revocation: invalid_grant", body)
    ok, text, _ = imap_oauth(env, "XOAUTH2", ANA, at)
    token_auths(1, False)
    check(not ok and "[AUTHENTICATIONFAILED]" in text,
          "IMAP with an access token of the revoked grant: NO [AUTHENTICATIONFAILED]", text)
    code, text, _ = smtp_try(env, "smtps", ctx, "XOAUTH2", ANA, at)
    token_auths(1, False)
    check(code == 535, "SMTP with it: 535", (code, text))

    print("# authorization code with PKCE")
    redirect = "http://127.0.0.1:%d/callback" % 45678
    state = "st ate/&=é%" + secrets.token_hex(4)

    def authorize(**params):
        base = {"response_type": "code", "client_id": "plazo-public", "redirect_uri": redirect,
                "scope": "mail", "state": state}
        base.update(params)
        base = {k: v for k, v in base.items() if v is not None}
        status, headers, raw = oa.request("GET", "/authorize?" + urllib.parse.urlencode(base))
        return status, headers.get("Location", ""), raw

    verifier, challenge = pkce()
    status, location, _ = authorize(code_challenge=challenge, code_challenge_method="S256")
    u = urllib.parse.urlsplit(location)
    q = dict(urllib.parse.parse_qsl(u.query))
    code = keep(q.get("code"))
    check(status == 302 and location.startswith(redirect + "?") and code and
          q.get("state") == state, "GET /authorize: 302 to the redirect_uri with code and the "
          "same state", (status, location[:80]))
    for name, params in (
            ("unknown client", {"client_id": "nobody"}),
            ("non-loopback redirect_uri", {"redirect_uri": "https://example.com/cb"}),
            ("loopback redirect_uri without a port", {"redirect_uri": "http://127.0.0.1/cb"}),
            ("response_type=token", {"response_type": "token"}),
            ("no code_challenge", {"code_challenge": None}),
            ("code_challenge_method=plain", {"code_challenge_method": "plain"})):
        p = {"code_challenge": challenge, "code_challenge_method": "S256"}
        p.update(params)
        s, loc, raw = authorize(**p)
        check(s == 400 and not loc, "/authorize refuses %s: 400, no redirect" % name, (s, loc))
    public = ("plazo-public", None)

    def exchange(code, verifier, redirect_uri=redirect, client=public, auth="public"):
        want["token_requests"] += 1
        return oa.token({"grant_type": "authorization_code", "code": code,
                         "redirect_uri": redirect_uri, "code_verifier": verifier},
                        auth=auth, client=client)

    status, body = exchange(code, pkce()[0])
    check(status == 400 and body.get("error") == "invalid_grant",
          "wrong code_verifier: invalid_grant", body)
    status, body = exchange(code, verifier, redirect_uri="http://127.0.0.1:45679/callback")
    check(status == 400 and body.get("error") == "invalid_grant",
          "different redirect_uri: invalid_grant", body)
    status, tok = exchange(code, verifier)
    want["authorization_code"] += 1
    check(status == 200 and tok.get("refresh_token") and tok.get("access_token"),
          "right verifier: access and refresh token", status)
    rt_code = tok.get("refresh_token")
    intro = oa.introspect(tok.get("access_token", ""))
    want["introspect"] += 1
    want["introspect_active"] += 1
    check(intro.get("email") == ANA and intro.get("client_id") == "plazo-public",
          "the grant is for default_user %s" % ANA, intro)
    status, body = exchange(code, verifier)
    check(status == 400 and body.get("error") == "invalid_grant", "the code is single-use", body)
    status, tok = oa.refresh(rt_code, auth="public", client=public)
    want["token_requests"] += 1
    refreshed(ANA)
    check(status == 200, "the public client refreshes with client_id only", (status, tok))
    at = tok.get("access_token", "")
    # The confidential client, with login_hint.
    verifier, challenge = pkce()
    status, location, _ = authorize(client_id="plazo-test", code_challenge=challenge,
                                    code_challenge_method="S256", login_hint=BOB,
                                    redirect_uri="http://localhost:45678/")
    code = keep(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query)).get("code"))
    status, tok = exchange(code, verifier, redirect_uri="http://localhost:45678/",
                           client=(oa.client_id, oa.secret), auth="basic")
    want["authorization_code"] += 1
    bob_at = tok.get("access_token", "")
    bob_rt = tok.get("refresh_token")
    ok, text, _ = imap_oauth(env, "XOAUTH2", BOB, bob_at)
    token_auths(1, True)
    check(status == 200 and ok, "plazo-test with login_hint=%s (localhost redirect): bob logs "
          "in over IMAP" % BOB, (status, text))

    print("# device authorization grant")
    device_grant = "urn:ietf:params:oauth:grant-type:device_code"

    def device(client=public):
        fields = {"client_id": client[0], "scope": "mail"}
        if client[1]:
            fields["client_secret"] = client[1]
        status, _, body = oa.form("/device", fields)
        keep(body.get("device_code"))
        return status, body

    def poll(dc, client=public):
        want["token_requests"] += 1
        want["device_polls"] += 1
        return oa.token({"grant_type": device_grant, "device_code": dc},
                        auth="public" if client[1] is None else "form", client=client)

    status, a = device()
    check(status == 200 and set(a) == {"device_code", "user_code", "verification_uri",
                                       "verification_uri_complete", "expires_in", "interval"}
          and a["expires_in"] == 600 and a["interval"] == 1 and len(a["user_code"]) == 9
          and a["user_code"][4] == "-" and a["verification_uri"] == env["OAUTH_URL"] +
          "/device/verify", "POST /device: device_code, user_code %s, verification_uri, "
          "expires_in 600, interval 1" % a.get("user_code"), a)
    status, body = poll(a["device_code"])
    check(body.get("error") == "authorization_pending", "first poll: authorization_pending", body)
    time.sleep(1.0)
    status, body = poll(a["device_code"])
    check(body.get("error") == "authorization_pending", "poll after the interval: "
          "authorization_pending", body)
    status, body = poll(a["device_code"])
    check(status == 400 and body.get("error") == "slow_down",
          "poll faster than the interval: slow_down", body)

    status, s = oa.control("settings", {"slow_down": 1})
    status, b = device((oa.client_id, oa.secret))
    status, body = poll(b["device_code"], (oa.client_id, oa.secret))
    status, s = oa.control("settings", {})
    check(body.get("error") == "slow_down" and s.get("slow_down") == 0,
          "setting slow_down=1: the next poll gets slow_down, the setting drops to 0", body)
    status, body = oa.control("approve", {"user_code": b["user_code"].lower(), "user": BOB})
    check(status == 200 and body.get("user") == BOB, "approve %s for %s" % (b["user_code"], BOB),
          body)
    status, body = oa.control("approve", {"user_code": "XXXX-XXXX"})
    check(status == 404, "approve an unknown user_code: 404", (status, body))
    status, grants = oa.control("grants", method="GET")
    check(status == 200 and any(r["user_code"] == b["user_code"] and r["status"] == "approved"
                                and r["interval"] == 6 for r in grants["device_requests"]),
          "GET /control/grants lists the request, approved, interval now 6 s", grants)
    time.sleep(6.0)
    status, tok = poll(b["device_code"], (oa.client_id, oa.secret))
    want["device_code"] += 1
    check(status == 200 and tok.get("refresh_token") and tok.get("access_token"),
          "after approval and the slowed-down interval (6 s): tokens", (status, tok))
    intro = oa.introspect(tok.get("access_token", ""))
    want["introspect"] += 1
    want["introspect_active"] += 1
    check(intro.get("email") == BOB, "the device grant is for bob", intro)
    status, body = poll(b["device_code"], (oa.client_id, oa.secret))
    check(body.get("error") == "invalid_grant", "the device_code is single-use", body)
    status, c = device()
    oa.control("deny", {"user_code": c["user_code"]})
    status, body = poll(c["device_code"])
    check(body.get("error") == "access_denied", "denied request: access_denied", body)
    oa.control("settings", {"device_ttl": 1})
    status, e = device()
    check(e.get("expires_in") == 1, "device_ttl=1: expires_in 1")
    time.sleep(1.1)
    status, body = poll(e["device_code"])
    check(body.get("error") == "expired_token", "after expires_in: expired_token", body)
    oa.control("settings", {"device_ttl": 600})

    print("# token endpoint failure")
    oa.control("settings", {"token_fail": 503})
    status, body = oa.refresh(bob_rt)
    want["token_requests"] += 1
    want["token_failures"] += 1
    check(status == 503 and body.get("error") == "temporarily_unavailable",
          "token_fail=503: 503 temporarily_unavailable", (status, body))
    oa.control("settings", {"token_fail": 0})
    status, tok = oa.refresh(bob_rt)
    want["token_requests"] += 1
    refreshed(BOB)
    check(status == 200, "token_fail=0: refresh works again", status)

    print("# OAuth server down")
    status, body = oa.control("seed", {"user": ANA, "refresh_token": "selftest-" +
                                       secrets.token_hex(12)})
    rt = keep(body["refresh_token"])
    status, tok = oa.refresh(rt)
    want["token_requests"] += 1
    refreshed(ANA)
    at = tok["access_token"]
    check(rt.startswith("selftest-") and status == 200, "seed with a chosen refresh token")
    rc, out = script("stop-oauth", d)
    check(rc == 0, "scripts/mail-servers stop-oauth", out)
    for mech in ("XOAUTH2", "OAUTHBEARER"):
        t0 = time.monotonic()
        ok, text, ch = imap_oauth(env, mech, ANA, at)
        check(not ok and "[UNAVAILABLE]" in text, "IMAP %s: NO [UNAVAILABLE] (%.2f s)" % (
            mech, time.monotonic() - t0), (text, ch))
    for kind in ("submission", "smtps"):
        code, text, _ = smtp_try(env, kind, ctx, "XOAUTH2", ANA, at)
        check(code == 454 and text.startswith("4.7.0"), "SMTP %s: 454 4.7.0" % kind, (code, text))
    rc, out = script("status", d)
    check(rc == 3 and "oauth: stopped" in out, "status: exit 3, oauth: stopped", out)
    t0 = time.monotonic()
    rc, out = script("start-oauth", d)
    check(rc == 0, "scripts/mail-servers start-oauth (%.2f s)" % (time.monotonic() - t0), out)
    ok, text, _ = imap_oauth(env, "XOAUTH2", ANA, at)
    token_auths(1, True)
    check(ok, "after the restart the access token still works", text)
    status, tok = oa.refresh(rt)
    want["token_requests"] += 1
    refreshed(ANA)
    check(status == 200, "and the refresh token too (grants kept)", (status, tok))
    status, body = oa.refresh(rt3)
    want["token_requests"] += 1
    check(body.get("error") == "invalid_grant", "a revoked grant stays revoked", body)

    print("# counters")
    status, counts = oa.control("counts", method="GET")
    want["refresh_token_by_user"] = by_user
    for key in sorted(want):
        check(counts.get(key) == want[key], "counts %s = %s" % (key, want[key]),
              "got %s" % counts.get(key))

    print("# passwords still work; failures stay fast")
    ok, conn = imap_login(env, "ana", USERS["ana"])
    check(ok, "IMAP LOGIN with a password", conn if not ok else "")
    if ok:
        conn.logout()
    ok, text = imap_login(env, "ana", "wrong")
    check(not ok and "[AUTHENTICATIONFAILED]" in text, "IMAP LOGIN with a wrong password: NO", text)
    for kind in ("submission", "smtps"):
        s = smtp_open(env, kind, ctx)
        try:
            s.login("ana@example.test", USERS["ana"])
            ok = True
        except smtplib.SMTPException as e:
            ok = e
        s.quit()
        check(ok is True, "SMTP %s AUTH PLAIN with a password" % kind, ok)
    bad = "x" * 2000
    times = []
    for _ in range(4):
        t0 = time.monotonic()
        ok, text, _ = imap_oauth(env, "XOAUTH2", ANA, bad)
        times.append(time.monotonic() - t0)
    t0 = time.monotonic()
    ok, text, _ = imap_oauth(env, "XOAUTH2", ANA, at)
    good = time.monotonic() - t0
    check(ok and max(times) + good < 1.0,
          "IMAP (imaplib): 4 bad-token logins (%s s) then a good one (%.3f s): no penalty" % (
              ", ".join("%.3f" % t for t in times), good), text)
    answers = [imap_sasl_ir(env, mech, ANA, tok) for mech, tok in (
        ("XOAUTH2", bad), ("OAUTHBEARER", bad), ("XOAUTH2", bad), ("OAUTHBEARER", bad),
        ("XOAUTH2", at), ("OAUTHBEARER", at))]
    check([a.split(" ", 2)[1] + (" " + a.split(" ", 3)[2] if " NO " in a else "")
           for a, _ in answers] == ["NO [AUTHENTICATIONFAILED]"] * 4 + ["OK"] * 2 and
          sum(t for _, t in answers) < 1.0,
          "IMAP (SASL-IR, raw socket): 4 bad tokens (%s s) then 2 good (%s s)" % (
              ", ".join("%.3f" % t for _, t in answers[:4]),
              ", ".join("%.3f" % t for _, t in answers[4:])), answers)
    t0 = time.monotonic()
    code1, _, _ = smtp_try(env, "smtps", ctx, "XOAUTH2", ANA, bad)
    code2, _, _ = smtp_try(env, "smtps", ctx, "XOAUTH2", ANA, at)
    check(code1 == 535 and code2 == 235, "SMTP: bad token then good one, %.3f s in all" % (
        time.monotonic() - t0))

    print("# logs")
    logs = {}
    for name in ("oauth.log", "dovecot.log", "smtp.log", "oauth-state.json"):
        with open(os.path.join(d, name), encoding="utf-8", errors="replace") as f:
            logs[name] = f.read()
    needles = set()
    for sec in SECRETS:
        needles.add(sec if len(sec) <= 64 else sec[:40])
        if len(sec) > 64:
            needles.add(sec[len(sec) // 2:len(sec) // 2 + 40])
    needles.add(oa.secret)
    for name, text in logs.items():
        leaked = [n for n in needles if n in text and not (
            name == "oauth-state.json" and n == oa.secret)]
        check(not leaked, "no token, code, verifier or secret in %s (%d strings checked)" % (
            name, len(needles)), leaked[:3])
    check("AUTH XOAUTH2 user=ana@example.test: ok" in logs["smtp.log"],
          "smtp.log has one line per AUTH (mechanism, user, result)")

    print("# %d failed; %.1f s" % (len(FAILED), time.monotonic() - started))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
