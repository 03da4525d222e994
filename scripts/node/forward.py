"""Forward TCP connections from 127.0.0.1:PORT inside the real node's network namespace to ADDRESS:PORT in
this process's own (the host's), so that the node's kubelet, kube-proxy and CoreDNS reach the kwok API
server, which listens on the host's loopback only (scripts/cluster.sh), at the URL of the cluster's
kubeconfig, whose certificate names 127.0.0.1.

    python forward.py NETNS_FILE PORT [ADDRESS]

The listening socket is made inside the node's namespace (setns(2) on NETNS_FILE, /proc/PID/ns/net of a
process in it) and the thread goes back before anything else starts: a socket keeps the namespace it was
made in, and every connection out is made in the host's namespace.
"""

from __future__ import annotations

import ctypes
import os
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000


def setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def listen_in(netns_file: str, port: int) -> socket.socket:
    host = os.open("/proc/self/ns/net", os.O_RDONLY)
    node = os.open(netns_file, os.O_RDONLY)
    try:
        setns(node)
        try:
            return socket.create_server(("127.0.0.1", port), backlog=128)
        finally:
            setns(host)
    finally:
        os.close(node)
        os.close(host)


def pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s, how in ((dst, socket.SHUT_WR), (src, socket.SHUT_RD)):
            try:
                s.shutdown(how)
            except OSError:
                pass


def serve(conn: socket.socket, target: tuple[str, int]) -> None:
    try:
        upstream = socket.create_connection(target, timeout=10)
        upstream.settimeout(None)
    except OSError as err:
        print(f"forward: cannot reach {target[0]}:{target[1]}: {err}", file=sys.stderr, flush=True)
        conn.close()
        return
    back = threading.Thread(target=pipe, args=(upstream, conn), daemon=True)
    back.start()
    pipe(conn, upstream)
    back.join()
    conn.close()
    upstream.close()


def main() -> None:
    netns_file, port = sys.argv[1], int(sys.argv[2])
    address = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
    listener = listen_in(netns_file, port)
    print(f"forward: node 127.0.0.1:{port} -> host {address}:{port}", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, (address, port)), daemon=True).start()


if __name__ == "__main__":
    main()
