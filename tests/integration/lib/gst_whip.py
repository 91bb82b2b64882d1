#!/usr/bin/python3
"""A WHIP publisher on GStreamer's own WebRTC stack (webrtcbin, libnice; Debian's
gstreamer1.0-plugins-bad), for tests: a moving test pattern in VP8 and a tone in Opus,
bundled on one transport, offered to a WHIP endpoint (RFC 9725), published for a while,
then DELETEd.

    gst_whip.py URL SECONDS [TOKEN]

Prints one JSON object per line as things happen ({"event": "answered", "status",
"location"}, {"event": "connected"}, {"event": "deleted", "status"}) and exits 0 when all
of them happened, 1 otherwise (with {"event": "error", "message"}). Bounded: it gives up
SECONDS + 20 s after it starts."""
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

PIPELINE = """
webrtcbin name=w bundle-policy=max-bundle
videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1
  ! vp8enc deadline=1 target-bitrate=300000 keyframe-max-dist=30
  ! rtpvp8pay pt=96 ! application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000 ! w.
audiotestsrc is-live=true wave=sine ! audioconvert ! audioresample ! opusenc
  ! rtpopuspay pt=111 ! application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 ! w.
"""


def say(**fields):
    print(json.dumps(fields), flush=True)


def main():
    url, seconds = sys.argv[1], int(sys.argv[2])
    token = sys.argv[3] if len(sys.argv) > 3 else None
    Gst.init(None)
    loop = GLib.MainLoop()
    pipeline = Gst.parse_launch(PIPELINE)
    w = pipeline.get_by_name("w")
    state = {"ok": False, "posted": False, "location": None, "connected": False}

    def fail(message):
        say(event="error", message=message)
        loop.quit()

    def request(method, target, body=None, content_type=None):
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if token:
            headers["Authorization"] = "Bearer " + token
        req = urllib.request.Request(target, data=body, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read().decode()

    def post_offer():
        if state["posted"]:
            return
        state["posted"] = True
        offer = w.get_property("local-description").sdp.as_text()
        if os.environ.get("GST_WHIP_DEBUG"):
            print(offer, file=sys.stderr)
        status, headers, body = request("POST", url, offer.encode(), "application/sdp")
        location = headers.get("Location") or headers.get("location")
        say(event="answered", status=status, location=location)
        if status != 201:
            return fail("POST answered %d: %s" % (status, body))
        state["location"] = urllib.parse.urljoin(url, location)
        res, sdp = GstSdp.SDPMessage.new_from_text(body)
        if res != GstSdp.SDPResult.OK:
            return fail("the answer does not parse")
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, sdp)
        w.emit("set-remote-description", answer, None)

    def on_gathering(element, _param):
        if element.get_property("ice-gathering-state") == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            GLib.idle_add(post_offer)

    def on_offer(promise, _data):
        promise.wait()
        reply = promise.get_reply()
        offer = reply.get_value("offer") if reply and reply.has_field("offer") else None
        if offer is None:
            return fail("no offer: %s" % (reply.to_string() if reply else "no reply"))
        w.emit("set-local-description", offer, None)

    def on_negotiation_needed(element):
        # What WHIP wants: send only.
        i = 0
        while True:
            t = element.emit("get-transceiver", i)
            if t is None:
                break
            t.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
            i += 1
        element.emit("create-offer", None, Gst.Promise.new_with_change_func(on_offer, None))

    def on_connection(element, _param):
        if element.get_property("connection-state") == GstWebRTC.WebRTCPeerConnectionState.CONNECTED and not state["connected"]:
            state["connected"] = True
            say(event="connected")
            GLib.timeout_add_seconds(seconds, finish)

    def finish():
        status, _, body = request("DELETE", state["location"])
        say(event="deleted", status=status)
        state["ok"] = status == 200
        loop.quit()
        return False

    def give_up():
        fail("not done within %d s" % (seconds + 20))
        return False

    def on_message(_bus, message):
        if message.type == Gst.MessageType.ERROR:
            err, _ = message.parse_error()
            fail("GStreamer: " + err.message)

    w.connect("on-negotiation-needed", on_negotiation_needed)
    w.connect("notify::ice-gathering-state", on_gathering)
    w.connect("notify::connection-state", on_connection)
    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)
    GLib.timeout_add_seconds(seconds + 20, give_up)
    pipeline.set_state(Gst.State.PLAYING)
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    return 0 if state["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
