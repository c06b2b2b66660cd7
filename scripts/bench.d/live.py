#!/usr/bin/env python3
"""The live half of scripts/bench: the servers' own floor for a burst (no plazo), footprint,
latency (plazo, Sieve vacation, the IDLE floor), the burst, and latency again with
imap.fast_poll, against the private servers scripts/mail-servers started in DIR. Prints one
JSON object with every figure. Standard library only.

Replies are seen where a client would see them: a new file in the client's Maildir (new/ or cur/),
i.e. the moment Dovecot's LMTP has stored it in the INBOX. Polled every 2 ms (latency) or 100 ms
(burst).
"""

import argparse
import datetime
import json
import os
import random
import re
import smtplib
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from email.utils import format_datetime, make_msgid

DOMAIN = "example.test"
FREELANCER = "ana"
VACATION = "vaca"
PASSWORD = "bench-pw"


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def env(dir_):
    out = {}
    with open(os.path.join(dir_, "servers.env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            out[k] = v
    return out


def add_users(dir_, names):
    """What `mail-servers adduser` does, for thousands of users at once."""
    users = os.path.join(dir_, "users")
    os.makedirs(users, exist_ok=True)
    os.chmod(users, 0o755)
    lines = []
    for n in names:
        line = f"{n}:{{PLAIN}}{PASSWORD}::::::\n"
        tmp = os.path.join(users, f".{n}.tmp")
        with open(tmp, "w") as f:
            f.write(line)
        os.chmod(tmp, 0o644)
        os.replace(tmp, os.path.join(users, n))
        lines.append(line)
    with open(os.path.join(dir_, "passwd"), "a") as f:
        f.writelines(lines)


def reply_arrival(dir_, user, before, since, timeout=10):
    """When USER's maildir grew past BEFORE (monotonic time), or None after TIMEOUT s."""
    while time.monotonic() - since < timeout:
        if maildir_count(dir_, user) > before:
            return time.monotonic()
        time.sleep(0.002)
    return None


def maildir_count(dir_, user):
    n = 0
    for sub in ("new", "cur"):
        try:
            n += len(os.listdir(os.path.join(dir_, "mail", user, "Maildir", sub)))
        except FileNotFoundError:
            pass
    return n


def maildir_files(dir_, user):
    out = []
    for sub in ("new", "cur"):
        p = os.path.join(dir_, "mail", user, "Maildir", sub)
        try:
            out += [os.path.join(p, f) for f in os.listdir(p)]
        except FileNotFoundError:
            pass
    return out


def client_mail(sender, to, subject, text):
    now = datetime.datetime.now(datetime.timezone.utc).astimezone()
    return (
        f"From: Cliente <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
        f"Date: {format_datetime(now)}\r\nMessage-ID: {make_msgid(domain=DOMAIN)}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        f"{text}\r\n"
    ).encode()


def smtp(port):
    return smtplib.SMTP("127.0.0.1", port, local_hostname="localhost", timeout=60)


def pct(values, p):
    v = sorted(values)
    if not v:
        return None
    k = (len(v) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def summary(ms):
    return {
        "n": len(ms),
        "p50": pct(ms, 50),
        "p95": pct(ms, 95),
        "p99": pct(ms, 99),
        "min": min(ms) if ms else None,
        "max": max(ms) if ms else None,
        "mean": sum(ms) / len(ms) if ms else None,
    }


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])  # kB
    return None


class IdleWatcher(threading.Thread):
    """One IMAP connection IDLEing on a mailbox; records when each `* N EXISTS` arrives."""

    def __init__(self, port, user):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.f = self.sock.makefile("rb")
        self.f.readline()
        self.cmd(f'a LOGIN "{user}" "{PASSWORD}"', "a ")
        self.cmd("b SELECT INBOX", "b ")
        self.sock.sendall(b"c IDLE\r\n")
        line = self.f.readline()
        assert line.startswith(b"+"), line
        self.events = []  # (monotonic time, N)
        self.lock = threading.Lock()

    def cmd(self, text, tag):
        self.sock.sendall(text.encode() + b"\r\n")
        while True:
            line = self.f.readline()
            if not line:
                raise RuntimeError("IMAP connection closed")
            if line.startswith(tag.encode()):
                assert b" OK" in line, line
                return

    def run(self):
        while True:
            try:
                line = self.f.readline()
            except OSError:
                return
            if not line:
                return
            m = re.match(rb"\* (\d+) EXISTS", line)
            if m:
                with self.lock:
                    self.events.append((time.monotonic(), int(m.group(1))))

    def first_after(self, t, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                for ts, _ in self.events:
                    if ts >= t:
                        return ts
            time.sleep(0.002)
        return None

    def close(self):
        try:
            self.sock.sendall(b"DONE\r\nz LOGOUT\r\n")
            self.sock.close()
        except OSError:
            pass


def closed_schedule():
    today = datetime.date.today()
    a = today - datetime.timedelta(days=7)
    b = today + datetime.timedelta(days=7)
    return f'monday = ["00:00-00:01"]\nholidays = ["{a}..{b}"]'


def servers_floor(dir_, e, n, connections, relays):
    """The servers alone, what a burst of n costs them with no plazo: n client mails injected
    into an unwatched mailbox over `connections` parallel connections (as in the burst), while n
    replies are relayed through submission (STARTTLS + AUTH) over `relays` connections, one
    reply after another on each, as plazo's senders do, until the last reply is stored in its
    client's Maildir."""
    addr = f"{FREELANCER}@{DOMAIN}"
    mails = [(f"floorin{i}@{DOMAIN}", client_mail(
        f"floorin{i}@{DOMAIN}", f"floor@{DOMAIN}", f"Pedido {i}",
        "Hola Ana, te paso el pedido de esta semana. Un saludo.")) for i in range(n)]
    chunks = [mails[k::connections] for k in range(connections)]
    reply_text = ("Hola:\n\nRespuesta automática: me ha llegado fuera de mi horario; lo leeré "
                  "personalmente el lunes a las 9:00 (hora de Madrid).\n\nUn saludo,\nAna\n") * 3

    def inject(chunk):
        s = smtp(int(e["SMTP_PORT"]))
        for sender, raw in chunk:
            s.sendmail(sender, [f"floor@{DOMAIN}"], raw)
        s.quit()

    def relay(lane):
        s = smtplib.SMTP("localhost", int(e["SUBMISSION_PORT"]), local_hostname="localhost", timeout=60)
        s.starttls(context=ssl.create_default_context(cafile=e["CA_FILE"]))
        s.login(addr, PASSWORD)
        for i in range(lane, n, relays):
            to = f"floorout{i}@{DOMAIN}"
            s.sendmail(addr, [to], client_mail(addr, to, f"Re: Pedido {i}", reply_text))
        s.quit()

    threads = [threading.Thread(target=inject, args=(ch,)) for ch in chunks]
    threads += [threading.Thread(target=relay, args=(k,)) for k in range(relays)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    pending = {f"floorout{i}" for i in range(n)}
    mail_root = os.path.join(dir_, "mail")
    while pending and time.monotonic() - t0 < 300:
        for c in pending.intersection(os.listdir(mail_root)):
            if maildir_count(dir_, c) > 0:
                pending.discard(c)
        time.sleep(0.1)
    for t in threads:
        t.join()
    return {"mails": n, "connections": connections, "relays": relays,
            "all_s": None if pending else time.monotonic() - t0, "missing": len(pending)}


def latency(d, e, conn, clients, rnd, watcher=None, label="latency"):
    """One mail at a time from each client to plazo's mailbox, then one to the Sieve mailbox."""
    plazo_sub_ms, sieve_sub_ms, accept_ms = [], [], []
    plazo_ms, sieve_ms, floor_ms, missing = [], [], [], {"plazo": 0, "sieve": 0, "floor": 0}
    for i, c in enumerate(clients):
        time.sleep(rnd.uniform(0.2, 1.0))
        sender = f"{c}@{DOMAIN}"
        before = maildir_count(d, c)
        t_sub = time.monotonic()
        conn.sendmail(sender, [f"{FREELANCER}@{DOMAIN}"], client_mail(
            sender, f"{FREELANCER}@{DOMAIN}", f"Web changes {i}",
            "Hola Ana, ¿puedes cambiar el banner de la portada? Gracias."))
        t_acc = time.monotonic()
        accept_ms.append((t_acc - t_sub) * 1000)
        t_rep = reply_arrival(d, c, before, t_acc)
        if t_rep is None:
            missing["plazo"] += 1
        else:
            plazo_ms.append((t_rep - t_acc) * 1000)
            plazo_sub_ms.append((t_rep - t_sub) * 1000)
        if watcher is not None:
            t_idle = watcher.first_after(t_acc, timeout=1)
            if t_idle is None:
                missing["floor"] += 1
            else:
                floor_ms.append((t_idle - t_acc) * 1000)
        # Sieve vacation: the same client writes to the second mailbox.
        before = maildir_count(d, c)
        t_sub = time.monotonic()
        conn.sendmail(sender, [f"{VACATION}@{DOMAIN}"], client_mail(
            sender, f"{VACATION}@{DOMAIN}", f"Web changes {i}",
            "Hi, could you change the banner on the home page? Thanks."))
        t_acc = time.monotonic()
        t_rep = reply_arrival(d, c, before, t_acc)
        if t_rep is None:
            missing["sieve"] += 1
        else:
            sieve_ms.append((t_rep - t_acc) * 1000)
            sieve_sub_ms.append((t_rep - t_sub) * 1000)
        if (i + 1) % 25 == 0:
            log(f"{label} {i + 1}/{len(clients)}: plazo p50 {pct(plazo_ms, 50)}, sieve p50 {pct(sieve_ms, 50)}, floor p50 {pct(floor_ms, 50)}")
    return {
        "plazo": summary(plazo_ms),
        "sieve": summary(sieve_ms),
        "idle_floor": summary(floor_ms),
        "plazo_from_submit": summary(plazo_sub_ms),
        "sieve_from_submit": summary(sieve_sub_ms),
        "smtp_accept": summary(accept_ms),
        "missing": missing,
    }


def write_config(dir_, e, fast_poll=None, connections=2):
    home = os.path.join(dir_, "plazo")
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, "password"), "w") as f:
        f.write(PASSWORD)
    os.chmod(os.path.join(home, "password"), 0o600)
    addr = f"{FREELANCER}@{DOMAIN}"
    with open(os.path.join(home, "config.toml"), "w") as f:
        f.write(f"""[identity]
name = "Ana Bench"
address = "{addr}"

[schedule]
timezone = "Europe/Madrid"
{closed_schedule()}

[notice]
minimum = "36h"

[reply]
audience = "anyone"
once_per_sender = "7d"
# Every bench client is at one domain: no cap per domain.
per_domain_hourly = 0

[imap]
host = "127.0.0.1"
port = {e['IMAP_PORT']}
security = "plain"
username = "{addr}"
password_file = "password"
{f'fast_poll = "{fast_poll}"' if fast_poll else ""}

[smtp]
host = "localhost"
port = {e['SUBMISSION_PORT']}
security = "starttls"
username = "{addr}"
password_file = "password"
ca_file = "{e['CA_FILE']}"
connections = {connections}

[state]
path = "state.sqlite3"
""")
    return home


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--plazo", required=True)
    ap.add_argument("--mails", type=int, default=200)
    ap.add_argument("--burst", type=int, default=2000)
    ap.add_argument("--burst-connections", type=int, default=8)
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--fast-poll", default="100ms")
    ap.add_argument("--smtp-connections", type=int, default=2,
                    help="plazo's smtp.connections, and the servers' floor relays as many")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    d = os.path.abspath(a.dir)
    e = env(d)
    smtp_port = int(e["SMTP_PORT"])
    out = {}

    lat_clients = [f"lat{i}" for i in range(a.mails)]
    fast_clients = [f"fast{i}" for i in range(a.mails)]
    burst_clients = [f"burst{i}" for i in range(a.burst)]
    floor_clients = [f"floorout{i}" for i in range(a.burst)]
    add_users(d, [FREELANCER, VACATION, "floor"] + lat_clients + fast_clients + burst_clients
              + floor_clients)
    time.sleep(1.1)  # passwd-file: Dovecot checks it at most once a second

    # ---- the servers' own floor for the burst, before plazo runs
    if a.burst:
        out["servers_floor"] = servers_floor(d, e, a.burst, a.burst_connections, a.smtp_connections)
        log(f"servers' floor: {out['servers_floor']}")

    # ---- footprint: start plazo, time to "imap: watching" (its first IDLE), idle RSS
    home = write_config(d, e, connections=a.smtp_connections)
    logf = open(os.path.join(home, "plazo.log"), "ab")
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [os.path.abspath(a.plazo), "run", "--config", os.path.join(home, "config.toml")],
        cwd=home, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
        env=dict(os.environ, PLAZO_LOG="info"),
    )
    logpath = os.path.join(home, "plazo.log")
    startup = None
    while time.monotonic() - t0 < 15:
        with open(logpath, "rb") as f:
            if b"imap: watching" in f.read():
                startup = (time.monotonic() - t0) * 1000
                break
        time.sleep(0.001)
    if startup is None:
        proc.kill()
        raise SystemExit("plazo did not start watching within 15 s; see " + logpath)
    time.sleep(3)
    out["footprint"] = {
        "startup_to_idle_ms": startup,
        "idle_rss_kb": proc_status(proc.pid, "VmRSS"),
        "pid": proc.pid,
    }
    log(f"startup {startup:.1f} ms, idle RSS {out['footprint']['idle_rss_kb']} kB")

    # ---- latency: plazo, Sieve vacation, and Dovecot's IDLE notification of the same mail
    watcher = IdleWatcher(int(e["IMAP_PORT"]), FREELANCER)
    watcher.start()
    conn = smtp(smtp_port)
    out["latency"] = latency(d, e, conn, lat_clients, rnd, watcher)
    conn.quit()
    watcher.close()
    out["rss_after_latency_kb"] = proc_status(proc.pid, "VmRSS")

    # ---- burst: N mails from N senders at once over a few parallel SMTP connections
    if a.burst:
        mails = [(f"{c}@{DOMAIN}", client_mail(
            f"{c}@{DOMAIN}", f"{FREELANCER}@{DOMAIN}", f"Pedido {i}",
            "Hola Ana, te paso el pedido de esta semana. Un saludo.")) for i, c in enumerate(burst_clients)]
        chunks = [mails[k::a.burst_connections] for k in range(a.burst_connections)]
        done_inject = []
        peak = [0]
        stop = threading.Event()

        def sampler():
            while not stop.is_set():
                try:
                    peak[0] = max(peak[0], proc_status(proc.pid, "VmRSS") or 0)
                except OSError:
                    return
                time.sleep(0.05)

        def inject(chunk):
            s = smtp(smtp_port)
            for sender, raw in chunk:
                s.sendmail(sender, [f"{FREELANCER}@{DOMAIN}"], raw)
            s.quit()
            done_inject.append(time.monotonic())

        threading.Thread(target=sampler, daemon=True).start()
        threads = [threading.Thread(target=inject, args=(ch,)) for ch in chunks]
        t_start = time.monotonic()
        for t in threads:
            t.start()
        pending = set(burst_clients)
        arrivals = {}
        mail_root = os.path.join(d, "mail")
        while pending and time.monotonic() - t_start < 300:
            # Cheap on purpose (the load generator shares the 2 cores with plazo): one listing of
            # the mail folder, then only the clients whose Maildir exists by now.
            for c in pending.intersection(os.listdir(mail_root)):
                if maildir_count(d, c) > 0:
                    arrivals[c] = time.monotonic()
                    pending.discard(c)
            time.sleep(0.1)
        for t in threads:
            t.join()
        stop.set()
        t_injected = max(done_inject)
        t_last = max(arrivals.values()) if arrivals else None
        out["burst"] = {
            "mails": a.burst,
            "connections": a.burst_connections,
            "injected_s": t_injected - t_start,
            "all_replies_s": (t_last - t_start) if t_last and not pending else None,
            "replies": len(arrivals),
            "missing": len(pending),
            "replies_per_s": len(arrivals) / (t_last - t_start) if t_last else None,
            "after_injection_s": (t_last - t_injected) if t_last else None,
            "peak_rss_kb": proc_status(proc.pid, "VmHWM"),
            "peak_rss_sampled_kb": peak[0],
        }
        log(f"burst: {out['burst']}")

    # ---- latency again with imap.fast_poll (a reload: SIGHUP), Sieve side by side
    if a.fast_poll:
        time.sleep(5)  # the burst's filing
        before = open(logpath, "rb").read().count(b"NOOP every")
        write_config(d, e, fast_poll=a.fast_poll, connections=a.smtp_connections)
        proc.send_signal(signal.SIGHUP)
        t0 = time.monotonic()
        while open(logpath, "rb").read().count(b"NOOP every") == before:
            if time.monotonic() - t0 > 30:
                raise SystemExit("plazo did not take fast_poll within 30 s; see " + logpath)
            time.sleep(0.01)
        conn = smtp(smtp_port)
        out["fast_poll"] = {"every": a.fast_poll,
                            **latency(d, e, conn, fast_clients, rnd, label="fast poll")}
        conn.quit()

    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
