#!/usr/bin/python3
"""A test SMTP server on 127.0.0.1 for tests/integration/email.sh.

Run it with /usr/bin/python3 (Debian's python3-aiosmtpd lives there).

  --mode starttls  STARTTLS offered and required before AUTH and MAIL (default)
  --mode smtps     implicit TLS: the socket is TLS from the first byte
  --mode plain     no TLS at all; AUTH (if --user) allowed in plain text
  --mode silent    accepts connections, never sends a byte, keeps them open

Each delivered message is written to MAILDIR/NNNN.eml (raw bytes as received,
headers included; written to a temporary name and renamed) and a line
"NNNN.eml MAIL FROM:<a> RCPT TO:<b>" is appended to MAILDIR/log.  The bound
port is written to --port-file (again temporary file, then rename) once the
server listens.  Nothing is printed except errors; SIGTERM and SIGINT stop it
cleanly (exit 0).
"""

import argparse
import asyncio
import logging
import os
import re
import signal
import ssl
import sys
import warnings

HOST = "127.0.0.1"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=0,
                   help="port to bind on 127.0.0.1 (0: any free port)")
    p.add_argument("--port-file", help="write the bound port here")
    p.add_argument("--maildir", help="where delivered messages go")
    p.add_argument("--cert", help="PEM certificate (starttls, smtps)")
    p.add_argument("--key", help="PEM private key (starttls, smtps)")
    p.add_argument("--stall-quit", action="store_true",
                   help="never answer QUIT (after the message was accepted)")
    p.add_argument("--mode", default="starttls",
                   choices=("starttls", "smtps", "plain", "silent"))
    p.add_argument("--user", help="require AUTH with this user name")
    p.add_argument("--password", help="... and this password")
    p.add_argument("--reject-rcpt", action="append", default=[],
                   metavar="ADDR", help="refuse RCPT TO:<ADDR> with 550")
    a = p.parse_args(argv)
    if (a.user is None) != (a.password is None):
        p.error("--user and --password go together")
    if a.mode in ("starttls", "smtps") and not (a.cert and a.key):
        p.error("--mode %s needs --cert and --key" % a.mode)
    if a.mode != "silent" and not a.maildir:
        p.error("--maildir is required (except in --mode silent)")
    if not 0 <= a.port <= 65535:
        p.error("--port must be 0..65535")
    return a


def write_atomic(path, data):
    tmp = os.path.join(os.path.dirname(path) or ".",
                       ".%s.tmp%d" % (os.path.basename(path), os.getpid()))
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


class MailDir:
    """NNNN.eml files, numbered on from the highest already there."""

    def __init__(self, path):
        self.path = path
        os.makedirs(path, exist_ok=True)
        nums = [int(m.group(1)) for m in
                (re.fullmatch(r"(\d+)\.eml", n) for n in os.listdir(path)) if m]
        self.next = max(nums, default=0) + 1

    def deliver(self, mail_from, rcpt_tos, content):
        name = "%04d.eml" % self.next
        self.next += 1
        write_atomic(os.path.join(self.path, name), content)
        line = "%s MAIL FROM:<%s> RCPT TO:%s\n" % (
            name, mail_from, ",".join("<%s>" % r for r in rcpt_tos))
        with open(os.path.join(self.path, "log"), "a") as f:
            f.write(line)
        return name


class Handler:
    def __init__(self, maildir, reject):
        self.maildir = maildir
        self.reject = {r.lower() for r in reject}

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content
        if raw is None:
            raw = envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            name = self.maildir.deliver(envelope.mail_from, envelope.rcpt_tos,
                                        raw)
        except OSError as e:
            print("smtp_server: cannot store message: %s" % e,
                  file=sys.stderr)
            return "451 4.3.0 cannot store the message"
        return "250 2.0.0 OK: queued as %s" % name[:-4]


def make_authenticator(user, password):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    want = (user.encode(), password.encode())

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and (auth_data.login, auth_data.password) == want)
        # Failure: aiosmtpd answers 535 5.7.8.
        return AuthResult(success=ok, handled=False)

    return authenticator


class Silent(asyncio.Protocol):
    """Takes the connection and says nothing, ever."""

    def __init__(self, conns):
        self.conns = conns

    def connection_made(self, transport):
        self.transport = transport
        self.conns.add(transport)

    def data_received(self, data):
        pass

    def connection_lost(self, exc):
        self.conns.discard(self.transport)


async def serve(a):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    tls = None
    if a.mode in ("starttls", "smtps"):
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(a.cert, a.key)

    conns = set()
    if a.mode == "silent":
        def factory():
            return Silent(conns)
        server = await loop.create_server(factory, HOST, a.port)
    else:
        from aiosmtpd.smtp import SMTP

        handler = Handler(MailDir(a.maildir), a.reject_rcpt)
        kw = dict(hostname="localhost", ident="stepup-test-smtp",
                  decode_data=False, loop=loop, timeout=60)
        if a.user is not None:
            kw.update(auth_required=True,
                      authenticator=make_authenticator(a.user, a.password))
        if a.mode == "starttls":
            kw.update(tls_context=tls, require_starttls=True,
                      auth_require_tls=True)
        else:
            # smtps: the whole socket is TLS already (aiosmtpd would only
            # count STARTTLS as TLS); plain: AUTH in plain text on purpose.
            kw.update(auth_require_tls=False)

        cls = SMTP
        if a.stall_quit:
            class StallQuit(SMTP):
                # The message is delivered and acknowledged; the answer to
                # QUIT never comes (a server or network gone at the end).
                async def smtp_QUIT(self, arg):
                    await asyncio.sleep(3600)
            cls = StallQuit

        def factory():
            proto = cls(handler, **kw)
            return proto
        server = await loop.create_server(
            factory, HOST, a.port, ssl=tls if a.mode == "smtps" else None)

    port = server.sockets[0].getsockname()[1]
    if a.port_file:
        write_atomic(a.port_file, b"%d\n" % port)

    await stop.wait()
    server.close()
    for t in list(conns):
        t.abort()
    try:
        await asyncio.wait_for(server.wait_closed(), 2)
    except (asyncio.TimeoutError, Exception):
        pass


def main(argv):
    a = parse_args(argv)
    # aiosmtpd logs every connection at INFO and warns about AUTH without TLS
    # (wanted in --mode plain); only errors are of interest here.
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr,
                        format="smtp_server: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")
    try:
        asyncio.run(serve(a))
    except OSError as e:
        print("smtp_server: %s" % e, file=sys.stderr)
        return 1
    except ssl.SSLError as e:
        print("smtp_server: TLS setup: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
