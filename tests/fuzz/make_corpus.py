#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_sctp, fuzz_http, fuzz_websocket, fuzz_turn, fuzz_shared_port
and fuzz_rtmp (tests/fuzz/corpus/).

fuzz_sctp: a mode byte, then packets each behind a one-byte length (see fuzz_sctp.cpp). The
verification tag, TSNs and checksum are left zero: the harness mends them as the mode byte
asks. Chromium's INIT and DATA_CHANNEL_OPEN are the captures in
tests/unit/net_sctp_association_test.cpp.
fuzz_http: bytes as a client writes them on one connection.
fuzz_websocket: a byte choosing the endpoint (0: /socket, 1: /socket.io/), then frames as a
client writes them after the upgrade (masked, RFC 6455 section 5.3).
fuzz_turn: a mode byte; 0: a TCP stream of TURN messages and ChannelData as a client sends
them; 1: a method and attributes (type, length byte, a zero byte, value) the harness signs.
fuzz_shared_port: what a client sends first on the signaling port (ICE-TCP, TURN, TLS, HTTP).
fuzz_rtmp: a byte choosing the read size, then what an encoder sends after the handshake:
FFmpeg 5.1's captured connect (tests/unit/protocol_rtmp.cpp), then a whole publish."""
import os, struct, sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
out = os.path.join(root, "fuzz_sctp")
os.makedirs(out, exist_ok=True)

def header():
    return struct.pack(">HHII", 5000, 5000, 0, 0)

def chunk(ctype, flags, body):
    c = struct.pack(">BBH", ctype, flags, 4 + len(body)) + body
    return c + b"\0" * (-len(c) % 4)

def data(stream, ppid, payload, ssn=0, flags=0x03):
    return chunk(0, flags, struct.pack(">IHHI", 0, stream, ssn, ppid) + payload)

def seed(name, mode, *packets):
    b = bytes([mode])
    for p in packets:
        assert len(p) < 256
        b += bytes([len(p)]) + p
    with open(os.path.join(out, name), "wb") as f:
        f.write(b)

CONNECTED = 0x1F  # handshake, tag, checksum, timers, TSNs
chromium_init = bytes.fromhex("138813880000000000000000" "0100001ecf23d47e00500000ffffffff9407d326"
                              "c000000480080006" "82c00000")
dcep_open = bytes.fromhex("038101000000000200 0a0007".replace(" ", "")) + b"dcep-label" + b"chat-v1"

seed("chromium_init", 0x04, chromium_init)
seed("dcep_open_then_messages", CONNECTED,
     header() + data(2, 50, dcep_open),
     header() + data(2, 51, b"hello", ssn=1) + data(2, 53, bytes(range(16)), ssn=2),
     header() + data(2, 56, b"\0", ssn=3))
seed("fragmented_message", CONNECTED,
     header() + data(4, 53, b"A" * 40, flags=0x02),
     header() + data(4, 53, b"B" * 40, flags=0x00),
     header() + data(4, 53, b"C" * 8, flags=0x01))
seed("unordered", CONNECTED, header() + data(6, 51, b"u1", flags=0x07))
seed("sack", CONNECTED, header() + chunk(3, 0, struct.pack(">IIHH", 0, 65536, 1, 1) + struct.pack(">HH", 2, 3) + struct.pack(">I", 7)))
seed("heartbeat", CONNECTED, header() + chunk(4, 0, struct.pack(">HH", 1, 12) + b"hbinfo\0\0"))
seed("forward_tsn", CONNECTED, header() + chunk(192, 0, struct.pack(">IHH", 5, 2, 1)))
seed("reconfig_outgoing_reset", CONNECTED,
     header() + chunk(130, 0, struct.pack(">HHIII", 13, 18, 1, 0, 0) + struct.pack(">H", 2)))
seed("shutdown", CONNECTED, header() + chunk(7, 0, struct.pack(">I", 0)))
seed("abort", CONNECTED, header() + chunk(6, 0, struct.pack(">HH", 1, 8) + struct.pack(">HH", 2, 0)))
seed("garbage_unmended", 0x00, b"\x13\x88\x13\x88garbage-garbage-garbage")

def write(target, name, content):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(content)

# ---- fuzz_http ----
write("fuzz_http", "get_keepalive_twice",
      b"GET / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\nGET /healthz?x=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
body = b'{"title":"Algebra","hostId":"t1"}'
write("fuzz_http", "post_json",
      b"POST /api/meetings HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: "
      + str(len(body)).encode() + b"\r\n\r\n" + body)
write("fuzz_http", "post_chunked",
      b"POST /api/meetings HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
write("fuzz_http", "engineio_polling_handshake",
      b"GET /socket.io/?EIO=4&transport=polling&t=abc HTTP/1.1\r\nHost: localhost:8080\r\nOrigin: http://localhost:3000\r\n\r\n")
write("fuzz_http", "engineio_post_unknown_sid",
      b"POST /socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 2\r\n\r\n40")
write("fuzz_http", "options_preflight",
      b"OPTIONS /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: h\r\nOrigin: http://127.0.0.1:5173\r\nAccess-Control-Request-Method: POST\r\n\r\n")
write("fuzz_http", "websocket_upgrade_foreign_origin",
      b"GET /socket?auth=p&channelId=r HTTP/1.1\r\nHost: h:8080\r\nOrigin: https://evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
write("fuzz_http", "http10_absolute_uri",
      b"HEAD http://h/index.html?a=%20b&c HTTP/1.0\r\n\r\n")
write("fuzz_http", "header_over_limit",
      b"GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + b"a" * 17000 + b"\r\n\r\n")

# ---- fuzz_websocket ----
def frame(opcode, payload, fin=True, key=b"\x37\xfa\x21\x3d"):
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))

join = b'{"type": "join-mediasoup-room", "data": {"roomId": "r", "userId": "u", "userName": "N"}, "requestId": 4}'
write("fuzz_websocket", "json_request_then_close", b"\x00" + frame(1, join) + frame(8, struct.pack(">H", 1000) + b"bye"))
write("fuzz_websocket", "ping_pong_bad_json", b"\x00" + frame(9, b"p") + frame(10, b"") + frame(1, b"{not json"))
write("fuzz_websocket", "fragmented_text", b"\x00" + frame(1, join[:20], fin=False) + frame(9, b"mid") + frame(0, join[20:]))
write("fuzz_websocket", "binary_frame", b"\x00" + frame(2, bytes(range(64))))
write("fuzz_websocket", "unmasked_frame", b"\x00" + b"\x81\x05hello")
write("fuzz_websocket", "length_over_limit", b"\x00" + b"\x81\xff" + struct.pack(">Q", 1 << 30) + b"\0\0\0\0abc")
write("fuzz_websocket", "socketio_connect_and_event",
      b"\x01" + frame(1, b'40{"roomId":"r","userName":"N"}') + frame(1, b"3")
      + frame(1, b'421["getRouterRtpCapabilities",{}]') + frame(1, b'44["send-message",{"roomId":"r","message":"hi"}]'))
write("fuzz_websocket", "engineio_upgrade_probe", b"\x01" + frame(1, b"2probe") + frame(1, b"5") + frame(1, b"1"))

# ---- fuzz_turn ----
def stun_message(msg_type, attrs, tid=b"\x05" * 12):
    body = b""
    for t, v in attrs:
        body += struct.pack(">HH", t, len(v)) + v + b"\0" * (-len(v) % 4)
    return struct.pack(">HHI", msg_type, len(body), 0x2112A442) + tid + body

def xor_peer(ip, port):
    cookie = struct.pack(">I", 0x2112A442)
    return bytes([0, 1]) + struct.pack(">H", port ^ 0x2112) + bytes(
        int(a) ^ c for a, c in zip(ip.split("."), cookie))

def turn_request(method, attrs):
    b = struct.pack(">H", method)
    for t, v in attrs:
        b += struct.pack(">HBB", t, len(v), 0) + v
    return b

peer = xor_peer("10.0.0.1", 40000)  # the harness's allowed peer
send = stun_message(0x0016, [(0x0012, peer), (0x0013, b"\x80\x60\x00\x01rtp-payload!")])
channel_data = struct.pack(">HH", 0x4000, 5) + b"hello" + b"\0" * 3
allocate = stun_message(0x0003, [(0x0019, bytes([17, 0, 0, 0]))])
write("fuzz_turn", "stream_send_channel_allocate_binding",
      b"\x00" + send + channel_data + allocate + stun_message(0x0001, []))
write("fuzz_turn", "datagram_channel", b"\x00" + struct.pack(">HH", 0x4000, 4) + b"abcd")
write("fuzz_turn", "signed_permission", b"\x01" + turn_request(0x008, [(0x0012, peer)]))
write("fuzz_turn", "signed_refresh_zero", b"\x01" + turn_request(0x004, [(0x000D, b"\0\0\0\0")]))
write("fuzz_turn", "signed_channel_bind",
      b"\x01" + turn_request(0x009, [(0x000C, b"\x40\x01\0\0"), (0x0012, peer)]))
write("fuzz_turn", "signed_allocate_again",
      b"\x01" + turn_request(0x003, [(0x0019, bytes([17, 0, 0, 0])), (0x0017, bytes([1, 0, 0, 0]))]))
# ---- fuzz_shared_port: what a client sends first on the signaling port ----
check = stun_message(0x0001, [(0x0006, b"srvUfragAAAAAAAA:cli1"), (0x0024, b"\x6e\xff\xff\xff"),
                              (0x802A, b"\x01" * 8), (0x0025, b"")])
write("fuzz_shared_port", "ice_tcp_binding_then_dtls",
      struct.pack(">H", len(check)) + check + struct.pack(">H", 13) + b"\x16\xfe\xfd" + b"\0" * 10)
write("fuzz_shared_port", "turn_allocate_then_channel",
      stun_message(0x0003, [(0x0019, bytes([17, 0, 0, 0]))]) + struct.pack(">HH", 0x4000, 4) + b"abcd")
write("fuzz_shared_port", "tls_client_hello_head", bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]))
write("fuzz_shared_port", "http_get", b"GET /socket?auth=a HTTP/1.1\r\nHost: chorus.test\r\n\r\n")

# ---- fuzz_rtmp: an encoder's connection after the handshake ----
def amf_str(s):
    b = s.encode()
    return b"\x02" + struct.pack(">H", len(b)) + b

def amf_num(n):
    return b"\x00" + struct.pack(">d", n)

def amf_obj(members):
    o = b"\x03"
    for k, v in members:
        o += struct.pack(">H", len(k)) + k.encode() + v
    return o + b"\x00\x00\x09"

def rtmp_message(csid, mtype, stream, ts, payload, chunk=128):
    out = bytes([csid]) + struct.pack(">I", ts)[1:] + struct.pack(">I", len(payload))[1:] + bytes([mtype]) + struct.pack("<I", stream)
    for i in range(0, max(len(payload), 1), chunk):
        out += (bytes([0xC0 | csid]) if i else b"") + payload[i:i + chunk]
    return out

ffmpeg_connect = bytes.fromhex(
    "0300000000008c1400000000020007636f6e6e656374003ff000000000000003"
    "00036170700200046c69766500047479706502000a6e6f6e7072697661746500"
    "08666c617368566572020024464d4c452f332e302028636f6d70617469626c65"
    "3b204c61766635392e32372e313030290005746355726c02001b72746d703a2f"
    "2f3132372e302e302e313a31c3393335302f6c697665000009")
publish = ffmpeg_connect + rtmp_message(2, 1, 0, 0, struct.pack(">I", 4096))
publish += rtmp_message(3, 20, 0, 0, amf_str("releaseStream") + amf_num(2) + b"\x05" + amf_str("KEY"), 4096)
publish += rtmp_message(3, 20, 0, 0, amf_str("createStream") + amf_num(4) + b"\x05", 4096)
publish += rtmp_message(8, 20, 1, 0, amf_str("publish") + amf_num(5) + b"\x05" + amf_str("KEY") + amf_str("live"), 4096)
publish += rtmp_message(4, 18, 1, 0, amf_str("@setDataFrame") + amf_str("onMetaData") +
                        amf_obj([("width", amf_num(640)), ("height", amf_num(360))]), 4096)
publish += rtmp_message(6, 9, 1, 0, bytes.fromhex("17000000000164001fffe1"), 4096)  # AVC sequence header
publish += rtmp_message(4, 8, 1, 0, bytes.fromhex("af001210"), 4096)  # AAC sequence header
for i in range(10):
    publish += rtmp_message(6, 9, 1, 40 * i, bytes.fromhex("2701000000") + bytes(200), 4096)
    publish += rtmp_message(4, 8, 1, 23 * i, bytes.fromhex("af01") + bytes(50), 4096)
publish += rtmp_message(3, 20, 0, 0, amf_str("FCUnpublish") + amf_num(6) + b"\x05" + amf_str("KEY"), 4096)
write("fuzz_rtmp", "ffmpeg-5.1-connect", b"\x00" + ffmpeg_connect)
write("fuzz_rtmp", "publish", b"\x05" + publish)
write("fuzz_rtmp", "publish-bytewise", b"\x00" + publish)

print("wrote the seed corpora under", root, file=sys.stderr)
