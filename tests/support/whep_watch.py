"""A WHEP player built on aiortc that watches for a while, for tests across NATs.

Offers to receive video, with the ICE servers it is given (STUN, TURN with a
username and password), then counts the video frames it decodes over
--seconds after the first one, and how many the device sent meanwhile (from
the frames' RTP timestamps: the device stamps each frame one frame period
after the last). Reports the ICE candidate pair it selected, DELETEs the
session and prints one JSON object; the Rust test makes the assertions.
"""

import argparse
import asyncio
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription


def http(method, url, token, body=None):
    """One request; returns (status, headers, body text). Never raises on 4xx/5xx."""
    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        headers["Content-Type"] = "application/sdp"
        body = body.encode()
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def selected_pair(pc):
    """The (local, remote) candidate types of the pair ICE nominated, or None."""
    for transceiver in pc.getTransceivers():
        transport = transceiver.receiver.transport
        if transport is None:
            continue
        connection = transport.transport._connection
        for pair in connection._nominated.values():
            return [pair.local_candidate.type, pair.remote_candidate.type]
    return None


async def watch(track, seconds, fps, seen):
    """Decodes frames: the first one starts a window of `seconds`."""
    first = await track.recv()
    seen["first_frame_s"] = time.monotonic() - seen["started"]
    start_pts, last_pts = first.pts, first.pts
    deadline = time.monotonic() + seconds
    received = 0
    while time.monotonic() < deadline:
        frame = await asyncio.wait_for(track.recv(), timeout=max(0.1, deadline - time.monotonic() + 1))
        received += 1
        last_pts = frame.pts
    seen["received"] = received
    # The frames after the first one, as the device stamped them (90 kHz clock).
    seen["sent"] = round(((last_pts - start_pts) % 2**32) / (90000 / fps))


async def main(args):
    result = {}
    servers = []
    if args.stun:
        servers.append(RTCIceServer(urls=[args.stun]))
    if args.turn:
        servers.append(RTCIceServer(urls=[args.turn], username=args.turn_user, credential=args.turn_password))
    pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
    pc.addTransceiver("video", direction="recvonly")
    tracks = {}
    pc.on("track", lambda track: tracks.__setitem__(track.kind, track))
    started = time.monotonic()
    await pc.setLocalDescription(await pc.createOffer())
    status, headers, answer = await asyncio.to_thread(http, "POST", args.url, args.token, pc.localDescription.sdp)
    result["status"] = status
    location = headers.get("Location")
    if status != 201 or not location:
        result["error"] = answer.strip()
        print(json.dumps(result))
        await pc.close()
        return
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    seen = {"started": started}
    try:
        for _ in range(400):
            if "video" in tracks:
                break
            await asyncio.sleep(0.05)
        await asyncio.wait_for(watch(tracks["video"], args.seconds, args.fps, seen), timeout=args.timeout)
    except (asyncio.TimeoutError, KeyError) as e:
        result["error"] = f"stopped waiting for video: {type(e).__name__} {e}"
    result.update({k: v for k, v in seen.items() if k != "started"})
    result["pair"] = selected_pair(pc)
    session = urllib.parse.urljoin(args.url, location)
    result["delete"] = (await asyncio.to_thread(http, "DELETE", session, args.token))[0]
    await pc.close()
    print(json.dumps(result))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="the device's WHEP endpoint")
    parser.add_argument("--token", required=True)
    parser.add_argument("--stun")
    parser.add_argument("--turn")
    parser.add_argument("--turn-user", default="")
    parser.add_argument("--turn-password", default="")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=float, required=True, help="the device's frame rate")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--log", action="store_true", help="ICE details on stderr")
    parsed = parser.parse_args()
    if parsed.log:
        import logging

        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
        logging.getLogger("aiortc.codecs").setLevel(logging.INFO)
    asyncio.run(main(parsed))
    sys.stdout.flush()
