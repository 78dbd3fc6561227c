"""A WHEP sender built on aiortc: the other sender in the lossy-link bench.

Serves a blank page at / (so a browser can fetch /whep from the same origin)
and answers each POST /whep offer with aiortc, sending a moving 640x480
picture at 30 fps (scrolling colour bars and a bouncing box, like Hearth's
test pattern) with aiortc's own H.264 encoder and rate control (its REMB
handling, 0.5-3 Mbit/s). Runs until killed.

Usage: python aiortc_whep_sender.py --host 10.79.1.2 --port 7700
"""

import argparse
import asyncio
import traceback
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack
from av import VideoFrame

WIDTH, HEIGHT = 640, 480
BARS = [(180, 128, 128), (162, 44, 142), (131, 156, 44), (112, 72, 58),
        (84, 184, 198), (65, 100, 212), (35, 212, 114), (16, 128, 128)]


class MovingPicture(VideoStreamTrack):
    """Scrolling bars in the top half, a scrolling grey ramp below, a
    bouncing box; built row by row (no numpy in the venv)."""

    def __init__(self):
        super().__init__()
        self.n = 0
        bar = WIDTH // len(BARS)
        twice = BARS * 2
        self.y_bars = bytes(twice[x // bar][0] for x in range(2 * WIDTH))
        self.u_bars = bytes(twice[(2 * x) // bar][1] for x in range(WIDTH))
        self.v_bars = bytes(twice[(2 * x) // bar][2] for x in range(WIDTH))
        self.ramp = bytes(16 + (219 * x) // (2 * WIDTH) for x in range(2 * WIDTH))

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        n = self.n
        self.n += 1
        shift = (n * 4) % WIDTH
        bars = self.y_bars[shift:shift + WIDTH]
        ramp = self.ramp[WIDTH - shift:2 * WIDTH - shift]
        rows = [bytearray(bars) for _ in range(HEIGHT // 2)] + [bytearray(ramp) for _ in range(HEIGHT // 2)]
        bx = abs((n * 6) % (2 * (WIDTH - 64)) - (WIDTH - 64))
        by = abs((n * 4) % (2 * (HEIGHT - 64)) - (HEIGHT - 64))
        for row in rows[by:by + 64]:
            row[bx:bx + 64] = b"\xeb" * 64
        half = shift // 2
        u_row = self.u_bars[half:half + WIDTH // 2]
        v_row = self.v_bars[half:half + WIDTH // 2]
        grey = b"\x80" * (WIDTH // 2)
        u_rows = [u_row] * (HEIGHT // 4) + [grey] * (HEIGHT // 4)
        v_rows = [v_row] * (HEIGHT // 4) + [grey] * (HEIGHT // 4)
        frame = VideoFrame(WIDTH, HEIGHT, "yuv420p")
        for plane, plane_rows in zip(frame.planes, (rows, u_rows, v_rows)):
            pad = b"\0" * (plane.line_size - len(plane_rows[0]))
            plane.update(b"".join(bytes(r) + pad for r in plane_rows))
        frame.pts = pts
        frame.time_base = time_base
        return frame


PAGE = b"<!doctype html><title>aiortc sender</title><body>aiortc sender</body>"
peers = set()


async def answer(offer_sdp):
    pc = RTCPeerConnection()
    peers.add(pc)

    @pc.on("connectionstatechange")
    async def on_state():
        if pc.connectionState in ("failed", "closed"):
            peers.discard(pc)
            await pc.close()

    await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
    for transceiver in pc.getTransceivers():
        if transceiver.kind == "video":
            transceiver.sender.replaceTrack(MovingPicture())
            transceiver.direction = "sendonly"
    await pc.setLocalDescription(await pc.createAnswer())
    return pc.localDescription.sdp


async def respond(reader, writer):
    """Answers one request on a kept-alive connection; False at its end."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return False
    lines = head.decode().split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {k.lower(): v for k, v in (l.split(": ", 1) for l in lines[1:] if ": " in l)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    extra = ""
    if method == "GET" and path == "/":
        status, kind, out = "200 OK", "text/html", PAGE
    elif method == "POST" and path == "/whep":
        try:
            out = (await answer(body.decode())).encode()
            status, kind, extra = "201 Created", "application/sdp", "Location: /whep/1\r\n"
        except Exception:
            traceback.print_exc()
            status, kind, out = "500 Internal Server Error", "text/plain", b"could not answer"
    else:
        status, kind, out = "404 Not Found", "text/plain", b""
    # Kept alive: a browser sends the POST on the connection the page came
    # on, and does not retry a POST whose connection was closed under it.
    writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(out)}\r\n{extra}"
                 "\r\n".encode() + out)
    await writer.drain()
    return True


async def handle(reader, writer):
    try:
        while await respond(reader, writer):
            pass
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = await asyncio.start_server(handle, args.host, args.port)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
