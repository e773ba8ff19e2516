"""A real SMTP server for the e-mail tests (aiosmtpd): stores every accepted mail as a file.

Usage: python3 smtp_sink.py DIR PORT
Recipients whose local part starts with `tempfail` get 451 (try later), `reject` 550 (never).
Each accepted mail is written to DIR/NNNN.eml (the envelope recipients in DIR/NNNN.rcpt).
"""
import asyncio
import os
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out):
        self.out = out
        self.n = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("tempfail"):
            return "451 4.2.0 Mailbox busy, try again later"
        if local.startswith("reject"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        base = os.path.join(self.out, "%04d" % self.n)
        with open(base + ".tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(base + ".rcpt", "w") as f:
            f.write("\n".join(envelope.rcpt_tos))
        os.rename(base + ".tmp", base + ".eml")
        return "250 Message accepted"


async def main(out, port):
    c = Controller(Sink(out), hostname="127.0.0.1", port=port)
    c.start()
    with open(os.path.join(out, "ready"), "w") as f:
        f.write("ok")
    try:
        while True:
            await asyncio.sleep(3600)
    finally:
        c.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
