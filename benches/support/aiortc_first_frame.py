"""Time from a WHEP offer POST to the first decoded video frame, with aiortc as the player.

Used by `hearth-bench first-frame --client aiortc`. For each run: build a receive-only
peer (no STUN servers), create and set the offer (aiortc gathers candidates here, before
the clock starts), then time POST -> 201 -> first frame out of aiortc's H.264 decoder,
and DELETE the session. Prints one JSON object: {"answer_ms": [...], "first_frame_ms": [...]}.
"""

import argparse
import asyncio
import json
import time
import urllib.request

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription


def request(method, url, token, body=b""):
    req = urllib.request.Request(url, data=body, method=method, headers={
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/sdp",
    })
    with urllib.request.urlopen(req, timeout=20) as response:
        return response.status, response.headers.get("Location"), response.read().decode()


async def one_run(url, token):
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    track_ready = asyncio.get_running_loop().create_future()

    @pc.on("track")
    def on_track(track):
        if track.kind == "video" and not track_ready.done():
            track_ready.set_result(track)

    await pc.setLocalDescription(await pc.createOffer())
    start = time.perf_counter()
    status, location, answer = request("POST", url, token, pc.localDescription.sdp.encode())
    answered = time.perf_counter()
    assert status == 201, status
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    track = await asyncio.wait_for(track_ready, 10)
    await asyncio.wait_for(track.recv(), 10)
    done = time.perf_counter()
    base = url.split("/whep")[0]
    try:
        request("DELETE", base + location, token)
    except Exception:
        pass
    await pc.close()
    return (answered - start) * 1000, (done - start) * 1000


async def main(args):
    result = {"answer_ms": [], "first_frame_ms": []}
    for _ in range(args.runs):
        answer_ms, frame_ms = await one_run(args.url, args.token)
        result["answer_ms"].append(answer_ms)
        result["first_frame_ms"].append(frame_ms)
        await asyncio.sleep(0.3)
    print(json.dumps(result))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--runs", type=int, default=20)
    asyncio.run(main(parser.parse_args()))
