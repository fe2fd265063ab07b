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


def scenario(addr, user, password, fingerprint=None, site_key=None):
    """Exercises every request; returns a list of failed checks."""
    failures = []

    def check(condition, what):
        if not condition:
            failures.append(what)

    def error_code(action):
        try:
            action()
        except ServerError as e:
            return e.code
        return None

    c = Client(addr, fingerprint, site_key)
    check(c.hello["server"] == "netdisk", "hello names the server")
    c.login(user, password)
    check(c.pwd() == "~", "pwd is ~ after login")
    c.mkdir("py")
    check(error_code(lambda: c.mkdir("py")) == "exists", "duplicate mkdir is exists")
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
        check(error_code(lambda: c.get("missing", os.path.join(scratch, "m"))) == "not_found", "get missing")
        check(not os.path.exists(os.path.join(scratch, "m")), "failed get leaves nothing")
    c.mkdir("crowd")
    for n in range(1200):
        c.mkdir(f"crowd/{'d' * 60}{n:04}")
    crowd = c.ls("crowd")
    check(len(crowd) == 1200 and crowd[0]["name"].endswith("0000"), f"paged ls: {len(crowd)} entries")
    c.mv("big.bin", "renamed.bin")
    check(error_code(lambda: c.stat("big.bin")) == "not_found", "mv moved it")
    check(error_code(lambda: c.ls("../../x")) == "permission_denied", "ls above the home is permission_denied")
    check(error_code(lambda: c.stat("/etc/passwd")) == "permission_denied", "absolute path refused")
    check(error_code(lambda: c.rmdir("~/py")) == "permission_denied", "cannot rmdir the cwd")
    c.cd("~")
    check(error_code(lambda: c.rmdir("py")) == "not_empty", "rmdir non-empty")
    for n in range(1200):
        c.rmdir(f"py/crowd/{'d' * 60}{n:04}")
    c.rmdir("py/crowd")
    c.rm("py/renamed.bin")
    c.rm("py/empty.bin")
    c.rmdir("py")
    usage = c.df()
    check(usage["used"] == 0 and "quota" not in usage, f"df after cleanup: {usage}")
    c.close()

    wrong = Client(addr, fingerprint, site_key)
    check(error_code(lambda: wrong.login(user, password + "x")) == "auth_failed", "wrong password")
    wrong.close()
    if site_key is not None:
        stranger = Client(addr, fingerprint, site_key=b"x" * 32)
        check(error_code(lambda: stranger.login(user, password)) == "site_key_refused", "wrong site key")
        stranger.close()
    if fingerprint is not None:
        try:
            Client(addr, "SHA256:" + base64.b64encode(b"\0" * 32).decode().rstrip("="), site_key)
            check(False, "a wrong fingerprint is refused")
        except RuntimeError:
            pass
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addr", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--fingerprint", help="TLS, pinned to this certificate fingerprint")
    parser.add_argument("--site-key", help="file holding the server's site key")
    parser.add_argument("--scenario", action="store_true", help="run every check and report")
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
    failures = scenario(args.addr, args.user, args.password, args.fingerprint, site_key)
    for failure in failures:
        print(f"FAILED: {failure}")
    print("python client: all checks passed" if not failures else f"python client: {len(failures)} checks failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
