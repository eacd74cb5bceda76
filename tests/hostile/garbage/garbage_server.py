"""Answer each connection with a different kind of garbage, then close it."""

import itertools
import os
import socket
import threading

KINDS = itertools.cycle(
    [
        lambda: os.urandom(4096),  # random bytes
        lambda: b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n" + os.urandom(1024),
        lambda: b"HTTP/1.1 200 OK\r\nX-Endless: " + b"a" * (1024 * 1024),  # a header with no end
        lambda: b"HTTP/9.9 999 \xff\xfe\x00\r\n\r\n",
        lambda: b"",  # close at once
    ]
)


def answer(conn: socket.socket, data: bytes) -> None:
    with conn:
        conn.settimeout(5)
        try:
            conn.recv(65536)
            conn.sendall(data)
        except OSError:
            pass


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(os.environ["PORT"])))
server.listen(128)
while True:
    conn, _ = server.accept()
    threading.Thread(target=answer, args=(conn, next(KINDS)()), daemon=True).start()
