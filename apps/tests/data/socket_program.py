# A student's socket program: a TCP server (socket, bind, listen, accept), a UDP
# server (sendto, recvfrom), and a TCP client, unchanged from what runs on the kernel.
import socket

tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
tcp.bind(("0.0.0.0", 7000))
tcp.listen(5)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("0.0.0.0", 7001))
print("listening on", tcp.getsockname(), udp.getsockname(), flush=True)

conn, peer = tcp.accept()
data = conn.recv(1024)
conn.sendall(data.upper())
conn.close()

msg, sender = udp.recvfrom(1024)
udp.sendto(msg[::-1], sender)

client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
client.connect(("10.0.0.1", 7002))
client.sendall(("hello from %s:%d" % client.getsockname()).encode())
client.close()
print("tcp peer", peer[0], "udp peer", sender[0], flush=True)
