#!/usr/bin/env python3
"""OAuth2 authorization server for plazo's tests, started by scripts/mail-servers (stdlib only).

Listens on 127.0.0.1 only. Endpoints (JSON answers, Cache-Control: no-store):

  GET  /authorize       authorization code grant with PKCE (S256), auto-approved, loopback redirect
  POST /token           authorization_code, refresh_token, device_code grants
  POST /device          RFC 8628 device authorization
  GET  /device/verify   the verification page (approval is done with /control/approve)
  POST /introspect      RFC 7662, used by Dovecot's oauth2 passdb and by the SMTP server
  GET  /health          readiness ({"ok": true}; changes nothing)
  POST /control/NAME    test controls: reset, settings, seed, expire, revoke, approve, deny,
                        counts, grants (counts, grants and settings also answer GET)

Everything (grants, tokens, codes, device requests, settings, counters) is kept in the state file,
rewritten atomically after every change, so a restart keeps every grant. Tokens are stored as
SHA-256 digests only. Requests are logged one line each, with every token, code, secret and
verifier redacted. See scripts/README-mail-servers.md for the contract.
"""

import argparse
import base64
import hashlib
import hmac
import http.server
import json
import logging
import os
import secrets
import signal
import sys
import threading
import time
import urllib.parse

LOG = logging.getLogger("oauth")
HOST = "127.0.0.1"

CLIENTS = {
    "plazo-test": {"secret": "plazo-test-secret", "public": False},
    "plazo-public": {"secret": None, "public": True},
}
DEFAULT_SETTINGS = {
    "access_ttl": 3600,
    "rotate": False,
    "token_bytes": 2000,
    "device_interval": 1,
    "device_ttl": 600,
    "slow_down": 0,
    "token_fail": 0,
    "default_user": "ana@example.test",
}
COUNTER_NAMES = ("refresh_token", "authorization_code", "device_code", "token_requests",
                 "token_failures", "introspect", "introspect_active", "device_polls")
CODE_TTL = 60
REFRESH_TOKEN_CHARS = 40
SLOW_DOWN_STEP = 5  # RFC 8628 3.5: the interval grows by 5 s with every slow_down
POLL_SLACK = 0.2
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # RFC 8628 6.1: no vowels, no look-alikes
# Parameter names whose values never reach the log.
SECRET_KEYS = {"access_token", "refresh_token", "token", "code", "code_verifier", "client_secret",
               "device_code", "password", "assertion", "id_token"}


def digest(token):
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def new_token(chars):
    """A URL-safe opaque token of exactly `chars` characters."""
    chars = max(16, int(chars))
    return secrets.token_urlsafe(chars)[:chars]


def new_user_code():
    pick = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
    return pick[:4] + "-" + pick[4:]


def redact_value(key, value):
    if key.lower() in SECRET_KEYS and value:
        return "<redacted %d chars>" % len(value)
    return value


def redact_pairs(pairs):
    return "&".join("%s=%s" % (k, redact_value(k, v)) for k, v in pairs)


def redact_json(obj):
    if isinstance(obj, dict):
        return {k: (redact_value(k, v) if isinstance(v, str) else redact_json(v))
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [redact_json(v) for v in obj]
    return obj


def empty_state():
    return {
        "clients": {k: dict(v) for k, v in CLIENTS.items()},
        "settings": dict(DEFAULT_SETTINGS),
        "counters": dict({k: 0 for k in COUNTER_NAMES}, refresh_token_by_user={}),
        # grant id -> {user, client_id, scope, refresh: digest, revoked, created}
        "grants": {},
        # digest of a rotated-away refresh token -> grant id
        "rotated": {},
        # digest -> {grant, exp, expired}
        "access": {},
        # digest -> {client_id, redirect_uri, challenge, scope, user, exp}
        "codes": {},
        # digest of device_code -> {user_code, client_id, scope, status, user, exp, interval,
        #                           last_poll}
        "devices": {},
    }


class Store:
    """The whole state, guarded by one lock, saved after every change."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.state = empty_state()
        if os.path.exists(path):
            try:
                with open(path, encoding="utf-8") as f:
                    loaded = json.load(f)
                for key, value in loaded.items():
                    if key in self.state and isinstance(value, type(self.state[key])):
                        self.state[key] = value
                self.state["settings"] = dict(DEFAULT_SETTINGS, **self.state["settings"])
                counters = self.state["counters"]
                for k in COUNTER_NAMES:
                    counters.setdefault(k, 0)
                counters.setdefault("refresh_token_by_user", {})
                self.state["clients"] = {k: dict(v) for k, v in CLIENTS.items()}
                LOG.info("state loaded from %s: %d grant(s)", path, len(self.state["grants"]))
            except (OSError, ValueError) as e:
                LOG.error("cannot read %s (%s): starting from an empty state", path, e)

    def save(self):
        now = time.time()
        s = self.state
        # Forget what can no longer matter, so the file stays small.
        s["access"] = {k: v for k, v in s["access"].items() if v["exp"] > now - 86400}
        s["codes"] = {k: v for k, v in s["codes"].items() if v["exp"] > now - 3600}
        s["devices"] = {k: v for k, v in s["devices"].items() if v["exp"] > now - 3600}
        tmp = "%s.tmp.%d" % (self.path, threading.get_ident())
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(s, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, self.path)


class OAuthError(Exception):
    def __init__(self, status, error, description=None):
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description

    def body(self):
        b = {"error": self.error}
        if self.description:
            b["error_description"] = self.description
        return b


def loopback_redirect(uri):
    try:
        u = urllib.parse.urlsplit(uri)
        port = u.port
    except ValueError:
        return False
    return (u.scheme == "http" and u.hostname in ("127.0.0.1", "localhost") and port is not None
            and u.username is None and not u.fragment
            and u.netloc.split("@")[-1].lower() in ("127.0.0.1:%d" % port, "localhost:%d" % port))


def add_query(uri, params):
    u = urllib.parse.urlsplit(uri)
    query = u.query + ("&" if u.query else "") + urllib.parse.urlencode(params)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, u.path, query, u.fragment))


class OAuth:
    """The authorization server's logic; every public method runs under the store's lock."""

    def __init__(self, store, port):
        self.store = store
        self.port = port

    @property
    def s(self):
        return self.store.state

    @property
    def settings(self):
        return self.s["settings"]

    def count(self, name, n=1):
        self.s["counters"][name] = self.s["counters"].get(name, 0) + n

    # ------------------------------------------------------------ clients

    def client_auth(self, headers, form, required):
        """Returns the authenticated client id, or raises invalid_client (401)."""
        client_id = secret = None
        auth = headers.get("Authorization", "")
        if auth[:6].lower() == "basic ":
            try:
                raw = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
                cid, sep, sec = raw.partition(":")
                if not sep:
                    raise ValueError("no colon")
                client_id = urllib.parse.unquote_plus(cid)
                secret = urllib.parse.unquote_plus(sec)
            except (ValueError, UnicodeDecodeError):
                raise OAuthError(401, "invalid_client", "malformed Basic credentials")
            if form.get("client_id") not in (None, client_id):
                raise OAuthError(401, "invalid_client", "client_id differs from Basic auth")
        else:
            client_id = form.get("client_id")
            secret = form.get("client_secret")
        if client_id is None:
            if not required:
                return None
            raise OAuthError(401, "invalid_client", "no client authentication")
        client = self.s["clients"].get(client_id)
        if client is None:
            raise OAuthError(401, "invalid_client", "unknown client")
        if not client["public"]:
            if secret is None or not hmac.compare_digest(secret.encode(),
                                                         client["secret"].encode()):
                raise OAuthError(401, "invalid_client", "wrong or missing client secret")
        return client_id

    # ------------------------------------------------------------ tokens

    def new_grant(self, user, client_id, scope, refresh_token=None):
        refresh_token = refresh_token or new_token(REFRESH_TOKEN_CHARS)
        gid = secrets.token_hex(8)
        self.s["grants"][gid] = {"user": user, "client_id": client_id, "scope": scope,
                                 "refresh": digest(refresh_token), "revoked": False,
                                 "created": int(time.time()), "refreshes": 0}
        return gid, refresh_token

    def issue_access(self, gid, scope, refresh_token=None):
        access = new_token(self.settings["token_bytes"])
        ttl = int(self.settings["access_ttl"])
        self.s["access"][digest(access)] = {"grant": gid, "scope": scope,
                                            "exp": time.time() + ttl, "expired": False}
        answer = {"access_token": access, "token_type": "Bearer", "expires_in": ttl,
                  "scope": scope}
        if refresh_token:
            answer["refresh_token"] = refresh_token
        return answer

    def find_grant_by_refresh(self, refresh_token):
        d = digest(refresh_token)
        for gid, g in self.s["grants"].items():
            if g["refresh"] == d:
                return gid, g
        return None, None

    def token(self, headers, form):
        self.count("token_requests")
        fail = int(self.settings.get("token_fail") or 0)
        if fail:
            self.count("token_failures")
            raise OAuthError(fail, "temporarily_unavailable", "token_fail is set")
        grant_type = form.get("grant_type")
        if grant_type not in ("authorization_code", "refresh_token", DEVICE_GRANT):
            # Client errors come first only for grants we know (RFC 6749 5.2 order is free).
            raise OAuthError(400, "unsupported_grant_type")
        client_id = self.client_auth(headers, form, required=True)
        if grant_type == "refresh_token":
            return self.grant_refresh(client_id, form)
        if grant_type == "authorization_code":
            return self.grant_code(client_id, form)
        return self.grant_device(client_id, form)

    def grant_refresh(self, client_id, form):
        rt = form.get("refresh_token")
        if not rt:
            raise OAuthError(400, "invalid_request", "refresh_token is missing")
        gid, g = self.find_grant_by_refresh(rt)
        if g is None:
            if digest(rt) in self.s["rotated"]:
                raise OAuthError(400, "invalid_grant",
                                 "refresh token was rotated: use the newer one")
            raise OAuthError(400, "invalid_grant", "unknown refresh token")
        if g["revoked"]:
            raise OAuthError(400, "invalid_grant", "the grant was revoked")
        if g["client_id"] != client_id:
            raise OAuthError(400, "invalid_grant", "refresh token issued to another client")
        scope = g["scope"]
        if form.get("scope"):
            wanted = form["scope"].split()
            if not set(wanted) <= set(scope.split()):
                raise OAuthError(400, "invalid_scope", "scope exceeds the grant")
            scope = " ".join(wanted)
        new_rt = None
        if self.settings["rotate"]:
            new_rt = new_token(REFRESH_TOKEN_CHARS)
            self.s["rotated"][g["refresh"]] = gid
            g["refresh"] = digest(new_rt)
        g["refreshes"] = g.get("refreshes", 0) + 1
        self.count("refresh_token")
        by_user = self.s["counters"]["refresh_token_by_user"]
        by_user[g["user"]] = by_user.get(g["user"], 0) + 1
        return self.issue_access(gid, scope, new_rt), g["user"]

    def grant_code(self, client_id, form):
        code = form.get("code") or ""
        entry = self.s["codes"].get(digest(code))
        if entry is None:
            raise OAuthError(400, "invalid_grant", "unknown or already used code")
        if entry["exp"] < time.time():
            del self.s["codes"][digest(code)]
            raise OAuthError(400, "invalid_grant", "code expired")
        # A failed attempt does not consume the code; a successful one does.
        if entry["client_id"] != client_id:
            raise OAuthError(400, "invalid_grant", "code issued to another client")
        if form.get("redirect_uri") != entry["redirect_uri"]:
            raise OAuthError(400, "invalid_grant", "redirect_uri differs from /authorize")
        verifier = form.get("code_verifier") or ""
        computed = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode("ascii", "replace")).digest()).rstrip(b"=").decode()
        if not hmac.compare_digest(computed, entry["challenge"]):
            raise OAuthError(400, "invalid_grant", "code_verifier does not match the challenge")
        del self.s["codes"][digest(code)]
        gid, rt = self.new_grant(entry["user"], client_id, entry["scope"])
        self.count("authorization_code")
        return self.issue_access(gid, entry["scope"], rt), entry["user"]

    def grant_device(self, client_id, form):
        self.count("device_polls")
        dc = form.get("device_code") or ""
        key = digest(dc)
        d = self.s["devices"].get(key)
        if d is None:
            raise OAuthError(400, "invalid_grant", "unknown or already used device_code")
        if d["client_id"] != client_id:
            raise OAuthError(400, "invalid_grant", "device_code issued to another client")
        now = time.time()
        if now >= d["exp"]:
            raise OAuthError(400, "expired_token")
        last, d["last_poll"] = d.get("last_poll"), now
        if last is not None and now - last < d["interval"] - POLL_SLACK:
            d["interval"] += SLOW_DOWN_STEP
            raise OAuthError(400, "slow_down", "polling faster than every %d s" % (
                d["interval"] - SLOW_DOWN_STEP))
        if int(self.settings.get("slow_down") or 0) > 0:
            self.settings["slow_down"] = int(self.settings["slow_down"]) - 1
            d["interval"] += SLOW_DOWN_STEP
            raise OAuthError(400, "slow_down", "interval is now %d s" % d["interval"])
        if d["status"] == "denied":
            raise OAuthError(400, "access_denied")
        if d["status"] != "approved":
            raise OAuthError(400, "authorization_pending")
        del self.s["devices"][key]
        gid, rt = self.new_grant(d["user"], client_id, d["scope"])
        self.count("device_code")
        return self.issue_access(gid, d["scope"], rt), d["user"]

    # ------------------------------------------------------------ other endpoints

    def authorize(self, q):
        """Returns the redirect location, or raises ValueError(reason) for a 400 page."""
        client_id = q.get("client_id")
        if client_id not in self.s["clients"]:
            raise ValueError("unknown client_id")
        redirect_uri = q.get("redirect_uri") or ""
        if not loopback_redirect(redirect_uri):
            raise ValueError("redirect_uri must be http://127.0.0.1:PORT/... or "
                             "http://localhost:PORT/...")
        if q.get("response_type") != "code":
            raise ValueError("response_type must be code")
        if not q.get("code_challenge") or q.get("code_challenge_method") != "S256":
            raise ValueError("a PKCE code_challenge with code_challenge_method=S256 is required")
        user = q.get("login_hint") or self.settings["default_user"]
        scope = q.get("scope") or "mail"
        code = new_token(43)
        self.s["codes"][digest(code)] = {
            "client_id": client_id, "redirect_uri": redirect_uri,
            "challenge": q["code_challenge"], "scope": scope, "user": user,
            "exp": time.time() + CODE_TTL}
        params = [("code", code)]
        if "state" in q:
            params.append(("state", q["state"]))
        return add_query(redirect_uri, params), user

    def device(self, headers, form):
        client_id = self.client_auth(headers, form, required=True)
        dc = new_token(43)
        user_code = new_user_code()
        ttl = int(self.settings["device_ttl"])
        interval = int(self.settings["device_interval"])
        self.s["devices"][digest(dc)] = {
            "user_code": user_code, "client_id": client_id,
            "scope": form.get("scope") or "mail", "status": "pending", "user": None,
            "exp": time.time() + ttl, "interval": interval, "last_poll": None}
        verify = "http://%s:%d/device/verify" % (HOST, self.port)
        return {"device_code": dc, "user_code": user_code, "verification_uri": verify,
                "verification_uri_complete": verify + "?" + urllib.parse.urlencode(
                    {"user_code": user_code}),
                "expires_in": ttl, "interval": interval}

    def introspect(self, form):
        self.count("introspect")
        token = form.get("token") or ""
        a = self.s["access"].get(digest(token)) if token else None
        g = self.s["grants"].get(a["grant"]) if a else None
        now = time.time()
        if a is None or g is None or a["expired"] or now >= a["exp"] or g["revoked"]:
            return {"active": False}, None
        self.count("introspect_active")
        return {"active": True, "email": g["user"], "username": g["user"], "sub": g["user"],
                "scope": a["scope"], "client_id": g["client_id"], "exp": int(a["exp"]),
                "token_type": "Bearer"}, g["user"]

    def device_by_user_code(self, user_code):
        for d in self.s["devices"].values():
            if d["user_code"].upper() == (user_code or "").strip().upper():
                return d
        return None

    # ------------------------------------------------------------ controls

    def control(self, name, body):
        s = self.s
        if name == "reset":
            fresh = empty_state()
            s.clear()
            s.update(fresh)
            return {"reset": True}
        if name == "settings":
            for key, value in body.items():
                if key not in DEFAULT_SETTINGS:
                    raise OAuthError(400, "invalid_request", "unknown setting %s" % key)
                default = DEFAULT_SETTINGS[key]
                if isinstance(default, bool):
                    ok = isinstance(value, bool)
                elif isinstance(default, int):
                    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
                else:
                    ok = isinstance(value, str) and value != ""
                if not ok:
                    raise OAuthError(400, "invalid_request", "bad value for %s" % key)
            if "token_bytes" in body and not 16 <= body["token_bytes"] <= 100000:
                raise OAuthError(400, "invalid_request", "token_bytes must be in 16..100000")
            if body.get("token_fail") and not 400 <= body["token_fail"] <= 599:
                raise OAuthError(400, "invalid_request", "token_fail must be 0 or 400..599")
            s["settings"].update(body)
            return dict(s["settings"])
        if name == "seed":
            user = body.get("user")
            if not user:
                raise OAuthError(400, "invalid_request", "user is required")
            client_id = body.get("client_id", "plazo-test")
            if client_id not in s["clients"]:
                raise OAuthError(400, "invalid_request", "unknown client_id")
            rt = body.get("refresh_token")
            if rt is not None and (not isinstance(rt, str) or not rt):
                raise OAuthError(400, "invalid_request", "refresh_token must be a string")
            if rt:
                old_gid, old = self.find_grant_by_refresh(rt)
                if old is not None:
                    del s["grants"][old_gid]
                s["rotated"].pop(digest(rt), None)
            gid, rt = self.new_grant(user, client_id, body.get("scope", "mail"), rt)
            return {"refresh_token": rt}
        if name == "expire":
            keys = []
            if body.get("access_token"):
                k = digest(body["access_token"])
                if k in s["access"]:
                    keys = [k]
            elif body.get("user"):
                gids = {gid for gid, g in s["grants"].items() if g["user"] == body["user"]}
                keys = [k for k, a in s["access"].items() if a["grant"] in gids]
            else:
                raise OAuthError(400, "invalid_request", "user or access_token is required")
            now = time.time()
            n = 0
            for k in keys:
                a = s["access"][k]
                if not a["expired"] and a["exp"] > now:
                    n += 1
                a["expired"] = True
            return {"expired": n}
        if name == "revoke":
            if body.get("refresh_token"):
                gid, g = self.find_grant_by_refresh(body["refresh_token"])
                if g is None:  # a rotated-away token still names its grant
                    g = s["grants"].get(s["rotated"].get(digest(body["refresh_token"])))
                grants = [g] if g is not None else []
            elif body.get("user"):
                grants = [g for g in s["grants"].values() if g["user"] == body["user"]]
            else:
                raise OAuthError(400, "invalid_request", "user or refresh_token is required")
            n = 0
            for g in grants:
                n += not g["revoked"]
                g["revoked"] = True
            return {"revoked": n}
        if name in ("approve", "deny"):
            d = self.device_by_user_code(body.get("user_code"))
            if d is None:
                raise OAuthError(404, "not_found", "no pending device request with that user_code")
            if d["status"] != "pending":
                raise OAuthError(409, "invalid_request", "that device request is %s" % d["status"])
            if name == "approve":
                d["status"] = "approved"
                d["user"] = body.get("user") or s["settings"]["default_user"]
                return {"approved": d["user_code"], "user": d["user"]}
            d["status"] = "denied"
            return {"denied": d["user_code"]}
        if name == "counts":
            c = s["counters"]
            return dict({k: c.get(k, 0) for k in COUNTER_NAMES},
                        refresh_token_by_user=dict(c.get("refresh_token_by_user", {})))
        if name == "grants":
            now = time.time()
            out = {}
            for gid, g in s["grants"].items():
                access = [a for a in s["access"].values() if a["grant"] == gid]
                out.setdefault(g["user"], []).append({
                    "grant": gid, "client_id": g["client_id"], "scope": g["scope"],
                    "revoked": g["revoked"], "created": g["created"],
                    "refreshes": g.get("refreshes", 0),
                    "refresh_token_sha256": g["refresh"][:12],
                    "access_tokens": len(access),
                    "access_tokens_active": sum(
                        1 for a in access if not a["expired"] and a["exp"] > now)})
            pending = [{"user_code": d["user_code"], "client_id": d["client_id"],
                        "status": d["status"], "user": d["user"],
                        "expires_in": max(0, int(d["exp"] - now)), "interval": d["interval"]}
                       for d in s["devices"].values()]
            return {"grants": out, "device_requests": pending}
        raise OAuthError(404, "not_found", "unknown control %s" % name)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "plazo-test-oauth/1"
    timeout = 30
    # Headers and body go out in two writes: without TCP_NODELAY every answer on a kept-alive
    # connection (reqwest's pool, Dovecot) waits 40 ms for the body (Nagle against delayed ACK;
    # measured 44 ms instead of 1 ms).
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):  # the default one would log query strings
        pass

    # ------------------------------------------------------------ plumbing

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > 1 << 20:
            raise OAuthError(413, "invalid_request", "body too large")
        return self.rfile.read(length) if length else b""

    def form(self, body):
        pairs = urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        return dict(pairs), pairs

    def send(self, status, body, content_type="application/json", extra=None):
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
        else:
            data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Pragma", "no-cache")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_request_line(self, status, params, note=""):
        who = ""
        if self.headers.get("Authorization"):
            who = " (client auth: %s)" % self.headers["Authorization"].split(" ", 1)[0]
        LOG.info("%s %s%s%s -> %s%s", self.command, self.path.split("?", 1)[0],
                 (" " + params) if params else "", who, status, (" " + note) if note else "")

    @property
    def app(self):
        return self.server.app

    # ------------------------------------------------------------ methods

    def do_GET(self):
        path, _, query = self.path.partition("?")
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        q = dict(pairs)
        logged = redact_pairs(pairs)
        if path == "/health":
            self.send(200, {"ok": True})
            return
        if path == "/authorize":
            with self.app.store.lock:
                try:
                    location, user = self.app.authorize(q)
                    self.app.store.save()
                except ValueError as e:
                    self.log_request_line(400, logged, str(e))
                    self.send(400, "authorization refused: %s\n" % e, "text/plain; charset=utf-8")
                    return
            self.log_request_line(302, logged, "code issued for %s" % user)
            self.send(302, "", "text/plain", {"Location": location})
            return
        if path == "/device/verify":
            with self.app.store.lock:
                d = self.app.device_by_user_code(q.get("user_code"))
                text = ("device request %s (client %s, scope %s): %s\n" % (
                    d["user_code"], d["client_id"], d["scope"], d["status"]) if d else
                        "no device request with that code\n")
            text += "Tests approve with POST /control/approve {\"user_code\", \"user\"}.\n"
            self.log_request_line(200, logged)
            self.send(200, text, "text/plain; charset=utf-8")
            return
        if path in ("/control/counts", "/control/grants", "/control/settings"):
            self.control(path[len("/control/"):], {})
            return
        self.log_request_line(404, logged)
        self.send(404, {"error": "not_found"})

    def do_POST(self):
        path = self.path.partition("?")[0]
        try:
            body = self.read_body()
        except (OAuthError, ValueError):
            self.log_request_line(400, "", "unreadable body")
            self.close_connection = True
            self.send(400, {"error": "invalid_request"})
            return
        if path.startswith("/control/"):
            try:
                data = json.loads(body) if body.strip() else {}
                if not isinstance(data, dict):
                    raise ValueError("not an object")
            except ValueError:
                self.log_request_line(400, "", "body is not a JSON object")
                self.send(400, {"error": "invalid_request",
                                "error_description": "body must be a JSON object"})
                return
            self.control(path[len("/control/"):], data)
            return
        form, pairs = self.form(body)
        logged = redact_pairs(pairs)
        app = self.app
        try:
            with app.store.lock:
                try:
                    if path == "/token":
                        answer, user = app.token(self.headers, form)
                        note = "%s for %s" % (form.get("grant_type"), user)
                        if "refresh_token" in answer:
                            note += " (new refresh token)"
                    elif path == "/device":
                        answer = app.device(self.headers, form)
                        note = "user_code %s" % answer["user_code"]
                    elif path == "/introspect":
                        answer, user = app.introspect(form)
                        note = "active for %s" % user if user else "inactive"
                    else:
                        raise OAuthError(404, "not_found")
                finally:
                    app.store.save()
        except OAuthError as e:
            note = e.error + (": " + e.description if e.description else "")
            self.log_request_line(e.status, logged, note)
            extra = {"WWW-Authenticate": 'Basic realm="plazo-test"'} if e.status == 401 else None
            self.send(e.status, e.body(), extra=extra)
            return
        self.log_request_line(200, logged, note)
        self.send(200, answer)

    def control(self, name, data):
        app = self.app
        try:
            with app.store.lock:
                answer = app.control(name, data)
                if name not in ("counts", "grants") and not (name == "settings" and not data):
                    app.store.save()
        except OAuthError as e:
            self.log_request_line(e.status, json.dumps(redact_json(data)), e.error + (
                ": " + e.description if e.description else ""))
            self.send(e.status, e.body())
            return
        shown = {} if name in ("counts", "grants", "seed") else answer
        self.log_request_line(200, json.dumps(redact_json(data)) if data else "",
                              json.dumps(redact_json(shown)) if shown else "")
        self.send(200, answer)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--state", help="state file (default DIR/oauth-state.json)")
    a = p.parse_args()
    logging.basicConfig(stream=sys.stdout, level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s")
    store = Store(a.state or os.path.join(a.dir, "oauth-state.json"))
    with store.lock:
        store.save()
    try:
        httpd = Server((HOST, a.port), Handler)
    except OSError as e:
        LOG.error("cannot start: %s", e)
        return 1
    httpd.app = OAuth(store, a.port)

    def stop(signum, frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    LOG.info("listening on http://%s:%d", HOST, a.port)
    httpd.serve_forever(poll_interval=0.2)
    httpd.server_close()
    LOG.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
