#!/usr/bin/python3
"""A hostile ssh-agent for tests/integration/sshsk_agent.sh.

    sshsk_fake_agent.py MODE SOCKET [REAL_SOCKET SWAP_FROM.pub SWAP_TO.pub]

Listens on SOCKET (mode 0600), prints "ready" once listening, and answers
each connection as MODE says:

    garbage  random bytes for every request, then closes
    stall    reads the request and never answers
    huge     announces an answer of 0xffffffff bytes, sends a few
    many     an identities answer claiming 100000 identities
    short    announces 100 bytes, sends 10, and closes
    swap     a proxy to the real agent at REAL_SOCKET that, asked to sign
             with SWAP_FROM's key, has the agent sign with SWAP_TO's key
             instead (a signature by another key)
    slowsign a proxy to the real agent at REAL_SOCKET that lists its keys
             and never answers a sign request (a key nobody touches)
"""
import base64
import os
import socket
import struct
import sys
import threading
import time


def key_blob(path):
    with open(path) as f:
        return base64.b64decode(f.read().split()[1])


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def recv_msg(conn):
    head = recv_exact(conn, 4)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    return recv_exact(conn, n)


def frame(body):
    return struct.pack(">I", len(body)) + body


def swap_request(body, old, new):
    if body[:1] != b"\x0d":
        return body
    (n,) = struct.unpack(">I", body[1:5])
    if body[5:5 + n] != old:
        return body
    return b"\x0d" + struct.pack(">I", len(new)) + new + body[5 + n:]


def serve(conn, mode, args):
    try:
        while True:
            body = recv_msg(conn)
            if body is None:
                return
            if mode == "garbage":
                conn.sendall(os.urandom(64))
                return
            if mode == "stall":
                time.sleep(3600)
                return
            if mode == "huge":
                conn.sendall(b"\xff\xff\xff\xff" + b"\x0c" * 16)
                time.sleep(3600)
                return
            if mode == "many":
                conn.sendall(frame(b"\x0c" + struct.pack(">I", 100000) +
                                   b"\x00\x00\x00\x00" * 64))
                continue
            if mode == "short":
                conn.sendall(struct.pack(">I", 100) + b"\x0c" * 10)
                return
            if mode == "slowsign" and body[:1] == b"\x0d":
                time.sleep(3600)
                return
            if mode == "slowsign":
                real = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                real.connect(args[0])
                real.sendall(frame(body))
                answer = recv_msg(real)
                real.close()
                if answer is None:
                    return
                conn.sendall(frame(answer))
                continue
            if mode == "swap":
                real = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                real.connect(args[0])
                real.sendall(frame(swap_request(body, key_blob(args[1]), key_blob(args[2]))))
                answer = recv_msg(real)
                real.close()
                if answer is None:
                    return
                conn.sendall(frame(answer))
                continue
            return
    except OSError:
        return
    finally:
        conn.close()


def main():
    mode, path = sys.argv[1], sys.argv[2]
    args = sys.argv[3:]
    if os.path.exists(path):
        os.unlink(path)
    old = os.umask(0o177)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    os.umask(old)
    srv.listen(8)
    print("ready", flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, mode, args), daemon=True).start()


if __name__ == "__main__":
    main()
