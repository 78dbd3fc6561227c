"""A WHEP player built on aiortc, for tests/whep_aiortc.rs.

Offers to receive video and audio, checks that bad and revoked tokens get 401,
watches with the good token until it has decoded enough video and audio
frames, then DELETEs the session twice. Prints one JSON object with what it
saw; the Rust test makes the assertions.
"""

import argparse
import asyncio
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from aiortc import RTCPeerConnection, RTCSessionDescription


def http(method, url, token, body=None):
    """One request; returns (status, headers, body text). Never raises on 4xx/5xx.
    The headers are an http.client.HTTPMessage: look names up case-insensitively."""
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


def audio_codec(answer):
    """The codec name of the answer's first audio payload type."""
    payload = None
    for line in answer.splitlines():
        if line.startswith("m=audio "):
            fields = line.split()
            payload = fields[3] if len(fields) > 3 else None
        elif payload and line.startswith(f"a=rtpmap:{payload} "):
            return line.split()[1].split("/")[0].lower()
    return None


async def count(track, wanted, seen):
    """Receives decoded frames from `track` until `wanted` of them."""
    while seen["frames"] < wanted:
        frame = await track.recv()
        seen["frames"] += 1
        if hasattr(frame, "width"):
            seen["size"] = [frame.width, frame.height]


async def main(args):
    result = {}
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    tracks = {}
    pc.on("track", lambda track: tracks.__setitem__(track.kind, track))
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp

    result["bad_token"] = (await asyncio.to_thread(http, "POST", args.url, args.bad_token, offer))[0]
    if args.revoked_token:
        result["revoked_token"] = (
            await asyncio.to_thread(http, "POST", args.url, args.revoked_token, offer)
        )[0]

    status, headers, answer = await asyncio.to_thread(http, "POST", args.url, args.token, offer)
    result["status"] = status
    result["content_type"] = headers.get("Content-Type")
    location = headers.get("Location")
    result["location"] = location
    if status != 201 or not location:
        result["error"] = answer.strip()
        print(json.dumps(result))
        await pc.close()
        return
    result["audio_codec"] = audio_codec(answer)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    video = {"frames": 0}
    audio = {"frames": 0}
    try:
        for _ in range(200):
            if "video" in tracks and "audio" in tracks:
                break
            await asyncio.sleep(0.05)
        await asyncio.wait_for(
            asyncio.gather(
                count(tracks["video"], args.frames, video),
                count(tracks["audio"], args.audio_frames, audio),
            ),
            timeout=args.timeout,
        )
    except (asyncio.TimeoutError, KeyError) as e:
        result["error"] = f"stopped waiting for media: {type(e).__name__} {e}"
    result["video_frames"] = video["frames"]
    result["video_size"] = video.get("size")
    result["audio_frames"] = audio["frames"]

    session = urllib.parse.urljoin(args.url, location)
    result["delete"] = (await asyncio.to_thread(http, "DELETE", session, args.token))[0]
    result["delete_again"] = (await asyncio.to_thread(http, "DELETE", session, args.token))[0]
    await pc.close()
    print(json.dumps(result))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True, help="the device's WHEP endpoint")
    parser.add_argument("--token", required=True)
    parser.add_argument("--bad-token", required=True)
    parser.add_argument("--revoked-token")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--audio-frames", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=60.0)
    asyncio.run(main(parser.parse_args()))
    sys.stdout.flush()
