#!/usr/bin/env python3
"""A netdisk client written from docs/PROTOCOL.md alone.

It proves the document is enough to speak the protocol from another
language: standard library plus the `blake3` package (pip install blake3).

    python3 netdisk_client.py --addr 127.0.0.1:7420 --fingerprint SHA256:... \
        [--site-key FILE] --user alice --password pw --scenario

Without --fingerprint it speaks plaintext (the server must run with --plaintext).
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import socket
import ssl
import struct
import sys
import tempfile
import time
import unicodedata

import blake3

PROTOCOL = 1
MAX_HEADER = 64 * 1024
CHUNK = 256 * 1024


class ServerError(Exception):
    """An `error` frame: code and message."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def fingerprint_bytes(text):
    """`SHA256:` + unpadded base64 of the certificate's SHA-256 (PROTOCOL.md section 1)."""
    b64 = text.removeprefix("SHA256:")
    return base64.b64decode(b64 + "=" * (-len(b64) % 4))


class Client:
    def __init__(self, addr, fingerprint=None, site_key=None, timeout=60):
        host, port = addr.rsplit(":", 1)
        sock = socket.create_connection((host, int(port)), timeout=timeout)
        if fingerprint is not None:
            # TLS 1.3, trusting the certificate by its pinned fingerprint only.
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.minimum_version = ssl.TLSVersion.TLSv1_3
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            sock = context.wrap_socket(sock, server_hostname=host)
            seen = hashlib.sha256(sock.getpeercert(binary_form=True)).digest()
            if not hmac.compare_digest(seen, fingerprint_bytes(fingerprint)):
                sock.close()
                raise RuntimeError("the server's certificate does not have the pinned fingerprint")
        self.sock = sock
        self.next_id = 0
        self.hello = self.recv()
        if self.hello.get("type") == "error":
            raise ServerError(self.hello["code"], self.hello["message"])
        if self.hello["type"] != "hello" or self.hello["protocol"] != PROTOCOL:
            raise RuntimeError(f"unexpected hello: {self.hello}")
        if "SCRAM-SHA-256" not in self.hello["auth"]:
            raise RuntimeError("server offers no SCRAM-SHA-256")
        if self.hello.get("site_key", False):
            if site_key is None:
                raise RuntimeError("the server requires a site key")
            challenge = base64.b64decode(self.hello["challenge"])
            mac = hmac.new(site_key, challenge, "sha256").digest()
            self.send({"type": "site_proof", "mac": base64.b64encode(mac).decode("ascii")})

    # ----- framing -----
    def recv_exact(self, n):
        data = bytearray()
        while len(data) < n:
            piece = self.sock.recv(min(n - len(data), CHUNK))
            if not piece:
                raise ConnectionError("server closed the connection")
            data += piece
        return bytes(data)

    def recv(self):
        (length,) = struct.unpack("<I", self.recv_exact(4))
        if not 1 <= length <= MAX_HEADER:
            raise RuntimeError(f"bad header length {length}")
        return json.loads(self.recv_exact(length).decode("utf-8"))

    def send(self, message):
        header = json.dumps(message, separators=(",", ":")).encode("utf-8")
        self.sock.sendall(struct.pack("<I", len(header)) + header)

    def new_id(self):
        self.next_id += 1
        return self.next_id

    def response(self, request_id):
        reply = self.recv()
        if reply["type"] == "error":
            raise ServerError(reply["code"], reply["message"])
        if reply.get("id") != request_id:
            raise RuntimeError(f"reply to {reply.get('id')}, expected {request_id}")
        return reply

    def request(self, type_, **fields):
        request_id = self.new_id()
        self.send(dict(type=type_, id=request_id, **fields))
        return self.response(request_id)

    # ----- login (SCRAM-SHA-256, PROTOCOL.md section 4.2) -----
    def login(self, user, password):
        request_id = self.new_id()
        nonce = base64.b64encode(os.urandom(18)).decode()
        saslname = user.replace("=", "=3D").replace(",", "=2C")
        client_first_bare = f"n={saslname},r={nonce}"
        self.send({"type": "login", "id": request_id, "protocol": PROTOCOL,
                   "mechanism": "SCRAM-SHA-256", "data": "n,," + client_first_bare})
        server_first = self.response(request_id)["data"]
        attrs = dict(part.split("=", 1) for part in server_first.split(","))
        if not attrs["r"].startswith(nonce) or len(attrs["r"]) <= len(nonce):
            raise RuntimeError("server nonce does not extend ours")
        iterations = int(attrs["i"])
        if not 4096 <= iterations <= 10_000_000:
            raise RuntimeError(f"refusing iteration count {iterations}")
        salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), iterations)
        client_key = hmac.digest(salted, b"Client Key", "sha256")
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = "c=biws,r=" + attrs["r"]
        auth_message = ",".join([client_first_bare, server_first, without_proof]).encode()
        signature = hmac.digest(stored_key, auth_message, "sha256")
        proof = bytes(a ^ b for a, b in zip(client_key, signature))
        self.send({"type": "login_proof", "id": request_id,
                   "data": without_proof + ",p=" + base64.b64encode(proof).decode()})
        ok = self.response(request_id)
        server_key = hmac.digest(salted, b"Server Key", "sha256")
        expected = "v=" + base64.b64encode(hmac.digest(server_key, auth_message, "sha256")).decode()
        if not hmac.compare_digest(ok["data"], expected):
            raise RuntimeError("the server did not prove it knows the password verifier")
        return ok

    # ----- requests (section 6) -----
    def pwd(self):
        return self.request("pwd")["path"]

    def cd(self, path):
        return self.request("cd", path=path)["path"]

    def ls(self, path=None):
        fields = {} if path is None else {"path": path}
        request_id = self.new_id()
        self.send(dict(type="ls", id=request_id, **fields))
        listing = self.response(request_id)
        entries = list(listing["entries"])
        # A large directory arrives as several listing frames.
        while listing.get("more"):
            listing = self.response(request_id)
            entries.extend(listing["entries"])
        return entries

    def stat(self, path):
        return self.request("stat", path=path)["entry"]

    def mkdir(self, path, parents=False):
        self.request("mkdir", path=path, parents=parents)

    def rm(self, path):
        self.request("rm", path=path)

    def rmdir(self, path):
        self.request("rmdir", path=path)

    def mv(self, source, target):
        self.request("mv", **{"from": source, "to": target})

    def df(self):
        return self.request("df")

    # ----- trash and old versions (section 6.7) -----
    def trash(self):
        return self.request("trash")["items"]

    def trash_restore(self, **fields):
        return self.request("trash_restore", **fields)["path"]

    def trash_purge(self, **fields):
        return self.request("trash_purge", **fields)

    def versions(self, path):
        return self.request("versions", path=path)["versions"]

    def version_restore(self, path, version):
        return self.request("version_restore", path=path, version=version)["path"]

    def versions_purge(self, path, version=None):
        fields = {} if version is None else {"version": version}
        return self.request("versions_purge", path=path, **fields)

    def put_bytes(self, remote_path, data, digest=None, cut_after=None, **fields):
        """A `put` of `data` (section 6.3) with extra `put` fields; returns
        put_ready's answer and the final one. With `cut_after` the connection
        is closed after that many body bytes, and only put_ready is returned."""
        request_id = self.new_id()
        self.send(dict(type="put", id=request_id, path=remote_path, size=len(data), **fields))
        ready = self.response(request_id)
        offset = ready["offset"]
        if offset and ready.get("prefix_blake3") != blake3.blake3(data[:offset]).hexdigest():
            offset = 0
        header = {"type": "put_data", "id": request_id, "size": len(data) - offset}
        if offset:
            header["offset"] = offset
        self.send(header)
        if cut_after is not None:
            self.sock.sendall(data[offset:offset + cut_after])
            self.close()
            return ready, None
        self.sock.sendall(data[offset:])
        if digest is None:
            digest = blake3.blake3(data).hexdigest()
        self.send({"type": "put_end", "id": request_id, "blake3": digest})
        return ready, self.response(request_id)

    def send_put_small(self, remote_path, data, size=None, **fields):
        """Sends one `put_small` (section 6.3.1) without waiting; returns its id."""
        request_id = self.new_id()
        self.send(dict(type="put_small", id=request_id, path=remote_path,
                       size=len(data) if size is None else size,
                       blake3=blake3.blake3(data).hexdigest(), **fields))
        self.sock.sendall(data)
        return request_id

    def get_bytes(self, remote_path, **fields):
        """A `get` (section 6.4) into memory; returns get_data, the bytes and get_end."""
        request_id = self.new_id()
        self.send(dict(type="get", id=request_id, path=remote_path, **fields))
        data = self.response(request_id)
        body = self.recv_exact(data["size"]) if data["size"] else b""
        return data, body, self.response(request_id)

    def put(self, local_path, remote_path):
        size = os.path.getsize(local_path)
        request_id = self.new_id()
        self.send({"type": "put", "id": request_id, "path": remote_path, "size": size})
        ready = self.response(request_id)
        if ready["type"] != "put_ready" or ready["offset"] != 0:
            raise RuntimeError(f"unexpected {ready}")
        self.send({"type": "put_data", "id": request_id, "size": size})
        hasher = blake3.blake3()
        with open(local_path, "rb") as source:
            sent = 0
            while sent < size:
                chunk = source.read(min(CHUNK, size - sent))
                if not chunk:
                    raise RuntimeError("local file shrank")
                hasher.update(chunk)
                self.sock.sendall(chunk)
                sent += len(chunk)
        digest = hasher.hexdigest()
        self.send({"type": "put_end", "id": request_id, "blake3": digest})
        done = self.response(request_id)
        if done["blake3"] != digest:
            raise RuntimeError("server stored other bytes")
        return done

    def get(self, remote_path, local_path):
        request_id = self.new_id()
        self.send({"type": "get", "id": request_id, "path": remote_path})
        data = self.response(request_id)
        if data["type"] != "get_data":
            raise RuntimeError(f"unexpected {data}")
        hasher = blake3.blake3()
        directory = os.path.dirname(os.path.abspath(local_path))
        fd, part = tempfile.mkstemp(dir=directory, prefix=".netdisk-part-")
        try:
            with os.fdopen(fd, "wb") as out:
                left = data["size"]
                while left:
                    chunk = self.sock.recv(min(CHUNK, left))
                    if not chunk:
                        raise ConnectionError("server closed mid-download")
                    hasher.update(chunk)
                    out.write(chunk)
                    left -= len(chunk)
                end = self.response(request_id)
                if end["type"] != "get_end" or end["blake3"] != hasher.hexdigest():
                    raise RuntimeError("integrity check failed")
                out.flush()
                os.fsync(out.fileno())
            os.replace(part, local_path)
        except BaseException:
            if os.path.exists(part):
                os.unlink(part)
            raise
        return end["blake3"]

    def close(self):
        self.sock.close()


def error_of(action):
    """The code of the `error` an action got; None on success."""
    try:
        action()
    except ServerError as e:
        return e.code
    return None


def raw_error(client):
    """Reads one frame that must be an `error`; returns (code, id or None)."""
    reply = client.recv()
    if reply["type"] != "error":
        raise RuntimeError(f"expected an error, got {reply}")
    return reply["code"], reply.get("id")


def closed(client):
    """True when the server has closed the connection (after any frames)."""
    try:
        for _ in range(8):
            client.recv()
    except (ConnectionError, OSError):
        return True
    return False


def conformance(addr, user, password, fingerprint, site_key, unicode_user, planted, check):
    """The cases a client written from the document alone once had to guess."""
    def connect():
        return Client(addr, fingerprint, site_key)

    c = connect()
    wants_site_key = c.hello.get("site_key", False)
    c.login(user, password)
    c.mkdir("conf")
    c.cd("conf")

    # Section 2 and 6.3.1: put_small carries a body; two to one path in one
    # batch are both stored, in order, so the later one's bytes remain.
    ids = [c.send_put_small("same", b"first"), c.send_put_small("same", b"second version")]
    replies = [c.recv() for _ in ids]
    check([r["type"] for r in replies] == ["put_done", "put_done"], f"two put_small to one path: {replies}")
    check([r["id"] for r in replies] == ids, "put_small answers in request order")
    check(c.get_bytes("same")[1] == b"second version", "the later put_small's bytes remain")
    # Over 1 MiB: too_large, the body is read and dropped, the session goes on.
    big = c.send_put_small("big", b"x" * (1024 * 1024 + 1))
    check(raw_error(c) == ("too_large", big), "an oversized put_small is too_large, with its id")
    check(c.pwd() == "~/conf", "the connection stays open after an oversized put_small")

    # Section 6.2.
    check(error_of(lambda: c.stat("same/x")) == "not_a_directory", "stat of file/x is not_a_directory")
    check(error_of(lambda: c.get_bytes("same/x")) == "not_a_directory", "get of file/x is not_a_directory")
    check(error_of(lambda: c.put_bytes("same/x", b"x")) == "not_a_directory", "put to file/x is not_a_directory")
    check(error_of(lambda: c.mv("same", "missing/same")) == "not_found", "mv to a missing parent is not_found")
    c.mv("same", "same")
    check(c.stat("same")["kind"] == "file", "mv of a file onto itself is ok and keeps it")
    c.mkdir("dir")
    check(error_of(lambda: c.mv("dir", "dir")) == "bad_request", "mv of a directory onto itself is bad_request")
    request_id = c.new_id()
    c.send({"type": "ls", "id": request_id, "path": "same"})
    listing = c.response(request_id)
    check(listing["path"] == "~/conf/same" and [e["name"] for e in listing["entries"]] == ["same"],
          f"ls of a file: {listing}")

    # Section 6.3.
    _, done = c.put_bytes("dated", b"when?", modified=1000000000)
    check(done["type"] == "put_done", "plain put with modified")
    check(c.stat("dated").get("modified") == 1000000000, "modified becomes the stored file's")
    check(error_of(lambda: c.put_bytes("bad-hash", b"abc", digest="not-a-hash")) == "integrity",
          "a malformed hash at put_end is integrity")
    check(error_of(lambda: c.stat("bad-hash")) == "not_found", "nothing stored after integrity")
    data = os.urandom(300_000)
    cut = connect()
    cut.login(user, password)
    cut.put_bytes("conf/kept", data, cut_after=100_000, resume=True)
    ready, done = c.put_bytes("kept", data, resume=True)
    check(ready["offset"] == 100_000 and ready["prefix_blake3"] == blake3.blake3(data[:100_000]).hexdigest(),
          f"resume without modified continues on size alone: {ready}")
    check(done["blake3"] == blake3.blake3(data).hexdigest(), "the resumed upload is whole")
    # A completed plain put of the target releases kept bytes: df no longer
    # counts them, and a later resumable put starts from zero.
    cut = connect()
    cut.login(user, password)
    cut.put_bytes("conf/kept", data, cut_after=50_000, resume=True, modified=1700000000)
    # Polled, bounded: the cut session lets go (its reservation ends) once
    # the server notices the cut; only then may a commit release them.
    usage = c.df()
    for _ in range(200):
        if usage["reserved"] == 0 and usage["partials"] >= 50_000:
            break
        time.sleep(0.025)
        usage = c.df()
    check(usage["partials"] >= 50_000 and usage["reserved"] == 0, f"df counts kept bytes in partials: {usage}")
    c.put_bytes("kept", b"plain")
    check(c.df()["partials"] == 0, "a completed plain put releases the kept bytes of its target")
    ready, _ = c.put_bytes("kept", data, resume=True, modified=1700000000)
    check(ready["offset"] == 0, f"nothing is offered after the release: {ready}")
    # One resumable writer per file: a second waits 5 s, then busy; a plain put is never held up.
    holder = connect()
    holder.login(user, password)
    held = holder.new_id()
    holder.send({"type": "put", "id": held, "path": "conf/held", "size": 3, "resume": True})
    holder.response(held)
    _, done = c.put_bytes("held", b"plain wins")
    check(done["type"] == "put_done", "a plain put goes ahead while a resumable one runs")
    started = time.monotonic()
    check(error_of(lambda: c.put_bytes("held", b"abc", resume=True)) == "busy",
          "a second resumable put of one file is busy")
    waited = time.monotonic() - started
    check(4.5 <= waited < 30, f"busy came after the 5 s wait ({waited:.1f} s)")
    holder.send({"type": "put_data", "id": held, "size": 3})
    holder.sock.sendall(b"abc")
    holder.send({"type": "put_end", "id": held, "blake3": blake3.blake3(b"abc").hexdigest()})
    check(holder.response(held)["type"] == "put_done", "the first resumable put still completes")
    holder.close()
    check(c.pwd() == "~/conf", "the session goes on after busy")

    # Section 6.4: offset only when resuming; resuming at the end sends nothing more.
    got, body, end = c.get_bytes("kept")
    check("offset" not in got and body == data, "get_data has no offset when not resuming")
    got, body, end = c.get_bytes("kept", offset=len(data), size=len(data), modified=got.get("modified"),
                                 prefix_blake3=blake3.blake3(data).hexdigest())
    check(got["offset"] == len(data) and got["size"] == 0 and body == b"", f"resume at offset == size: {got}")
    check(end["blake3"] == blake3.blake3(data).hexdigest(), "get_end still hashes the whole file")

    # Sections 6.1-6.4: an upload's modified and mode become the stored
    # file's; get_data hands them back; stat with blake3 hashes a file.
    _, done = c.put_bytes("dated-big", os.urandom(2 * 1024 * 1024), modified=1500000000, mode=0o640)
    check(done["type"] == "put_done", f"put with modified and mode: {done}")
    entry = c.stat("dated-big")
    check(entry["modified"] == 1500000000 and entry["mode"] == 0o640, f"put keeps modified and mode: {entry}")
    small = c.send_put_small("dated-small", b"tiny", modified=1400000000, mode=0o200)
    check(c.response(small)["type"] == "put_done", "put_small with modified and mode")
    entry = c.stat("dated-small")
    check(entry["modified"] == 1400000000 and entry["mode"] == 0o600,
          f"put_small keeps modified; the owner's read bit is always added: {entry}")
    got, body, _ = c.get_bytes("dated-small")
    check(got["modified"] == 1400000000 and got["mode"] == 0o600, f"get_data carries modified and mode: {got}")
    info = c.request("stat", path="dated-small", blake3=True)
    check(info.get("blake3") == blake3.blake3(b"tiny").hexdigest(), f"stat with blake3: {info}")
    check("blake3" not in c.request("stat", path="dated-small"), "no hash unless asked")
    check("blake3" not in c.request("stat", path=".", blake3=True), "no hash for a directory")

    # Section 6.2: kept partial uploads are listed and discarded; a plain
    # put of the same path discards its partial before the quota check.
    partial = os.urandom(3 * 1024 * 1024)
    for target in ("halfway", "restarted"):
        other = connect()
        other.login(user, password)
        other.put_bytes(f"~/conf/{target}", partial, cut_after=1024 * 1024, resume=True, modified=1)
    listed = []
    for _ in range(200):  # the server lets go of a cut upload once it notices the cut
        listed = c.request("partials")["partials"]
        if len(listed) == 2 and not any(p.get("active") for p in listed):
            break
        time.sleep(0.05)
    check([p["path"] for p in listed] == ["~/conf/halfway", "~/conf/restarted"], f"partials lists both: {listed}")
    check(all(p["size"] == len(partial) and 0 < p["kept"] <= len(partial) and p["modified"] == 1
              and p["expires"] > time.time() for p in listed), f"partial_upload fields: {listed}")
    check(c.request("partial_rm", path="halfway")["type"] == "ok", "partial_rm")
    check(error_of(lambda: c.request("partial_rm", path="halfway")) == "not_found", "partial_rm twice is not_found")
    _, done = c.put_bytes("restarted", partial)
    check(done["type"] == "put_done", "a plain put over a kept partial")
    check(c.request("partials")["partials"] == [] and c.df()["partials"] == 0,
          "a plain put discards the kept partial of its path")
    for name in ("dated-big", "dated-small", "restarted"):
        c.rm(name)

    # Section 5: an upload or mv onto a symlink replaces the link, never what
    # it points to (here a file outside the home); FIFOs are refused unopened.
    if planted:
        check(c.stat("~/link-out")["kind"] == "symlink", "a planted link shows as a symlink")
        _, done = c.put_bytes("~/link-out", b"replaces the link")
        check(done["type"] == "put_done" and c.stat("~/link-out")["kind"] == "file", "put onto a link replaces it")
        c.mv("dated", "~/link-out2")
        check(c.stat("~/link-out2")["kind"] == "file", "mv onto a link replaces it")
        check(error_of(lambda: c.get_bytes("~/fifo")) == "bad_request", "get of a FIFO is bad_request")
        check(error_of(lambda: c.put_bytes("~/fifo", b"x")) == "bad_request", "put over a FIFO is bad_request")
        fifo = c.send_put_small("~/fifo", b"x")
        check(raw_error(c) == ("bad_request", fifo), "put_small over a FIFO is bad_request")
    c.cd("~")
    c.close()

    # Section 4.4: which failures carry the id, and what closes.
    other = connect()
    request_id = other.new_id()
    other.send({"type": "login", "id": request_id, "protocol": 2, "mechanism": "SCRAM-SHA-256",
                "data": "n,,n=" + user + ",r=abcdefghijklmnopqrstuvwx"})
    check(raw_error(other) == ("unsupported_version", request_id), "unsupported_version carries the id")
    check(closed(other), "closed after unsupported_version")
    for wrong in ("nonce", "id"):
        other = connect()
        request_id = other.new_id()
        other.send({"type": "login", "id": request_id, "protocol": PROTOCOL, "mechanism": "SCRAM-SHA-256",
                    "data": "n,,n=" + user + ",r=abcdefghijklmnopqrstuvwx"})
        server_first = other.response(request_id)["data"]
        combined = dict(part.split("=", 1) for part in server_first.split(","))["r"]
        nonce = combined + "x" if wrong == "nonce" else combined
        proof_id = request_id if wrong == "nonce" else request_id + 100
        other.send({"type": "login_proof", "id": proof_id,
                    "data": f"c=biws,r={nonce},p=" + base64.b64encode(b"\0" * 32).decode()})
        expected = ("auth_failed", request_id) if wrong == "nonce" else ("bad_request", proof_id)
        check(raw_error(other) == expected, f"login_proof with a wrong {wrong}: {expected}")
        check(closed(other), f"closed after a login_proof with a wrong {wrong}")
    if unicode_user is not None:
        name, secret = unicode_user
        exact = connect()
        exact.login(name, secret)
        exact.close()
        decomposed = unicodedata.normalize("NFD", name)
        check(decomposed != name, "the test name has a decomposed form")
        other = connect()
        check(error_of(lambda: other.login(decomposed, secret)) == "auth_failed",
              "user names are compared as sent, not SASLprep'd or normalised")
        other.close()
    if not wants_site_key:
        other = connect()
        other.send({"type": "site_proof", "mac": base64.b64encode(b"\0" * 32).decode()})
        check(raw_error(other) == ("bad_request", None), "a site_proof to a server without a site key is bad_request")
        check(closed(other), "closed after an unexpected site_proof")


def trash_and_versions(c, check, content):
    """Section 6.7 on what the scenario removed: `content` is renamed.bin's
    bytes, now in the trash. Leaves the trash and versions empty."""
    items = c.trash()
    paths = [item["path"] for item in items]
    check(paths == ["~/py/renamed.bin", "~/py/empty.bin"], f"trash lists the removed files: {paths}")
    renamed = items[0]
    check(renamed["kind"] == "file" and renamed["size"] == len(content), f"trash item: {renamed}")
    usage = c.df()
    check(usage["trash"] == len(content) and usage["used"] == len(content), f"df counts the trash: {usage}")
    check(error_of(lambda: c.trash_restore(item="0" * 20 + "-zzzz")) == "not_found", "unknown trash id")
    check(error_of(lambda: c.trash_restore(item="../../etc")) == "not_found", "hostile trash id")
    check(error_of(lambda: c.trash_restore()) == "bad_request", "restore needs item or path")
    check(c.trash_restore(item=renamed["id"]) == "~/py/renamed.bin", "restored where it was")
    _, body, _ = c.get_bytes("~/py/renamed.bin")
    check(body == content, "restored bytes equal")
    # Overwrites keep old versions (the same bytes, newest first).
    c.put_bytes("~/py/renamed.bin", b"second")
    c.put_bytes("~/py/renamed.bin", b"third!")
    versions = c.versions("~/py/renamed.bin")
    sizes = [v["size"] for v in versions]
    check(sizes == [len(b"second"), len(content)], f"versions, newest first: {sizes}")
    check(c.df()["versions"] == len(content) + len(b"second"), "df counts the versions")
    check(c.version_restore("~/py/renamed.bin", versions[1]["id"]) == "~/py/renamed.bin", "version restored")
    _, body, _ = c.get_bytes("~/py/renamed.bin")
    check(body == content, "a restored version's bytes")
    check(len(c.versions("~/py/renamed.bin")) == 3, "the replaced file became a version")
    purged = c.versions_purge("~/py/renamed.bin")
    check(purged["items"] == 3 and c.versions("~/py/renamed.bin") == [], f"versions purged: {purged}")
    c.rm("py/renamed.bin")
    c.rmdir("py")
    check(error_of(lambda: c.trash_restore(path="~/py/empty.bin", to="/etc/x")) == "permission_denied",
          "restore outside the home refused")
    purged = c.trash_purge(all=True)
    check(purged["items"] == 2 and purged["bytes"] == len(content), f"trash purged: {purged}")
    check(c.trash() == [], "trash empty")


def scenario(addr, user, password, fingerprint=None, site_key=None, unicode_user=None, planted=False):
    """Exercises every request; returns a list of failed checks."""
    failures = []
    checked = []

    def check(condition, what):
        checked.append(what)
        if not condition:
            failures.append(what)

    c = Client(addr, fingerprint, site_key)
    check(c.hello["server"] == "netdisk", "hello names the server")
    c.login(user, password)
    check(c.pwd() == "~", "pwd is ~ after login")
    c.mkdir("py")
    check(error_of(lambda: c.mkdir("py")) == "exists", "duplicate mkdir is exists")
    check(c.cd("py") == "~/py", "cd into py")
    with tempfile.TemporaryDirectory() as scratch:
        big = os.path.join(scratch, "big.bin")
        content = os.urandom(3 * 1024 * 1024 + 17)
        with open(big, "wb") as f:
            f.write(content)
        empty = os.path.join(scratch, "empty.bin")
        open(empty, "wb").close()
        done = c.put(big, "big.bin")
        check(done["path"] == "~/py/big.bin" and done["size"] == len(content), "put_done describes the file")
        check(done["blake3"] == blake3.blake3(content).hexdigest(), "put_done hash")
        c.put(empty, "empty.bin")
        names = [e["name"] for e in c.ls()]
        check(names == ["big.bin", "empty.bin"], f"ls sorted: {names}")
        entry = c.stat("big.bin")
        check(entry["kind"] == "file" and entry["size"] == len(content), "stat of a file")
        back = os.path.join(scratch, "back.bin")
        c.get("~/py/big.bin", back)
        with open(back, "rb") as f:
            check(f.read() == content, "downloaded bytes equal")
        c.get("empty.bin", os.path.join(scratch, "empty.back"))
        check(os.path.getsize(os.path.join(scratch, "empty.back")) == 0, "empty download")
        check(error_of(lambda: c.get("missing", os.path.join(scratch, "m"))) == "not_found", "get missing")
        check(not os.path.exists(os.path.join(scratch, "m")), "failed get leaves nothing")
    c.mkdir("crowd")
    for n in range(1200):
        c.mkdir(f"crowd/{'d' * 60}{n:04}")
    crowd = c.ls("crowd")
    check(len(crowd) == 1200 and crowd[0]["name"].endswith("0000"), f"paged ls: {len(crowd)} entries")
    c.mv("big.bin", "renamed.bin")
    check(error_of(lambda: c.stat("big.bin")) == "not_found", "mv moved it")
    check(error_of(lambda: c.ls("../../x")) == "permission_denied", "ls above the home is permission_denied")
    check(error_of(lambda: c.stat("/etc/passwd")) == "permission_denied", "absolute path refused")
    check(error_of(lambda: c.rmdir("~/py")) == "permission_denied", "cannot rmdir the cwd")
    c.cd("~")
    check(error_of(lambda: c.rmdir("py")) == "not_empty", "rmdir non-empty")
    for n in range(1200):
        c.rmdir(f"py/crowd/{'d' * 60}{n:04}")
    c.rmdir("py/crowd")
    c.rm("py/renamed.bin")
    c.rm("py/empty.bin")
    c.rmdir("py")
    trash_and_versions(c, check, content)
    usage = c.df()
    check(usage["used"] == 0 and "quota" not in usage, f"df after cleanup: {usage}")
    c.close()

    conformance(addr, user, password, fingerprint, site_key, unicode_user, planted, check)

    wrong = Client(addr, fingerprint, site_key)
    check(error_of(lambda: wrong.login(user, password + "x")) == "auth_failed", "wrong password")
    wrong.close()
    if site_key is not None:
        stranger = Client(addr, fingerprint, site_key=b"x" * 32)
        check(error_of(lambda: stranger.login(user, password)) == "site_key_refused", "wrong site key")
        stranger.close()
    if fingerprint is not None:
        try:
            Client(addr, "SHA256:" + base64.b64encode(b"\0" * 32).decode().rstrip("="), site_key)
            check(False, "a wrong fingerprint is refused")
        except RuntimeError:
            pass
    return len(checked), failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addr", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--fingerprint", help="TLS, pinned to this certificate fingerprint")
    parser.add_argument("--site-key", help="file holding the server's site key")
    parser.add_argument("--scenario", action="store_true", help="run every check and report")
    parser.add_argument("--unicode-user", help="NAME:PASSWORD of a user whose name has a decomposed form")
    parser.add_argument("--planted", action="store_true",
                        help="the home holds link-out and link-out2 (symlinks to a file outside) and a FIFO fifo")
    args = parser.parse_args()
    site_key = None
    if args.site_key:
        with open(args.site_key) as f:
            site_key = base64.b64decode(f.readline().strip())
    if not args.scenario:
        client = Client(args.addr, args.fingerprint, site_key)
        client.login(args.user, args.password)
        for entry in client.ls():
            print(entry["name"])
        return 0
    unicode_user = tuple(args.unicode_user.split(":", 1)) if args.unicode_user else None
    checked, failures = scenario(args.addr, args.user, args.password, args.fingerprint, site_key,
                        unicode_user, args.planted)
    for failure in failures:
        print(f"FAILED: {failure}")
    print(f"python client: all {checked} checks passed" if not failures
          else f"python client: {len(failures)} of {checked} checks failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
