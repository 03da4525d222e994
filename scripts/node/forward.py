"""Forward TCP connections from LISTEN:PORT inside the real node's network namespace to 127.0.0.1:PORT in
this process's own (the host's), where the kwok API server listens (host loopback only, scripts/cluster.sh).

    python forward.py NETNS_FILE PORT LISTEN...

node.sh listens on two addresses of the node's namespace:
- 127.0.0.1, for the node's kubelet, kube-proxy and CoreDNS, at the URL of the cluster's kubeconfig (whose
  certificate names 127.0.0.1);
- the node's own address, which the API server advertises (cluster.sh: --advertise-address) as the endpoint of
  the `kubernetes` Service: a pod's connection to that Service's ClusterIP, DNATed there by kube-proxy, ends
  here, as it ends at a control-plane node's address on any cluster.

The listening sockets are made inside the node's namespace (setns(2) on NETNS_FILE, /proc/PID/ns/net of a
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


def listen_in(netns_file: str, addresses: list[str], port: int) -> list[socket.socket]:
    host = os.open("/proc/self/ns/net", os.O_RDONLY)
    node = os.open(netns_file, os.O_RDONLY)
    try:
        setns(node)
        try:
            return [socket.create_server((address, port), backlog=128) for address in addresses]
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


def accept(listener: socket.socket, target: tuple[str, int]) -> None:
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, target), daemon=True).start()


def main() -> None:
    netns_file, port, addresses = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    if not addresses:
        sys.exit("usage: forward.py NETNS_FILE PORT LISTEN...")
    target = ("127.0.0.1", port)
    listeners = listen_in(netns_file, addresses, port)
    for address in addresses:
        print(f"forward: node {address}:{port} -> host 127.0.0.1:{port}", flush=True)
    for listener in listeners[1:]:
        threading.Thread(target=accept, args=(listener, target), daemon=True).start()
    accept(listeners[0], target)


if __name__ == "__main__":
    main()
