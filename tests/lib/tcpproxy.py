#!/usr/bin/env python3
"""A loopback TCP forwarder for the tiers: what a published port is.

    tcpproxy.py LISTEN_PORT TARGET_PORT [LIFETIME_S]

Listens on 127.0.0.1:LISTEN_PORT and forwards each connection to
127.0.0.1:TARGET_PORT, as docker's published port (127.0.0.1:15432->5432)
puts the admin's --db on another port than the one the stack's DSNs name.
Prints "ready" once listening; exits after LIFETIME_S (default 300) so a
tier that dies cannot leave it behind for long.
"""
import selectors
import socket
import sys
import threading
import time


def pump(a, b):
    sel = selectors.DefaultSelector()
    sel.register(a, selectors.EVENT_READ, b)
    sel.register(b, selectors.EVENT_READ, a)
    try:
        while True:
            for key, _ in sel.select(timeout=5):
                data = key.fileobj.recv(65536)
                if not data:
                    return
                key.data.sendall(data)
    except OSError:
        pass
    finally:
        a.close()
        b.close()


def main():
    listen, target = int(sys.argv[1]), int(sys.argv[2])
    lifetime = float(sys.argv[3]) if len(sys.argv) > 3 else 300.0
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", listen))
    srv.listen(16)
    srv.settimeout(1.0)
    print("ready", flush=True)
    end = time.monotonic() + lifetime
    while time.monotonic() < end:
        try:
            c, _ = srv.accept()
        except socket.timeout:
            continue
        up = socket.create_connection(("127.0.0.1", target))
        threading.Thread(target=pump, args=(c, up), daemon=True).start()


if __name__ == "__main__":
    main()
