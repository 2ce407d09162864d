#!/usr/bin/python3
"""Loopback RTSP server for tests, demos and benchmarks: loops H.264 MP4 clips over RTSP
without re-encoding, one mount per clip. The access units are parsed once, when loading, and go
straight to the payloader: a parser per client cost a quarter of the server's CPU.

Runs under the system Python, where Debian's `gi` (GStreamer bindings) lives:

    /usr/bin/python3 devtools/rtsp_server.py --port 0 cam1=clip.mp4 cam2=other.mp4,freeze=3 cam3=x.mp4,auth=user/pw

Prints `READY <port>` once serving. Each client gets the clip from its first keyframe; the
H.264 access units are read once, then pushed through appsrc forever with timestamps shifted
by the clip length on every loop. `,freeze=S` stops sending after S seconds while keeping the
connection open (a frozen camera). `,once` plays the clip once and ends the stream (EOS), so
every client gets exactly the same frames. `,auth=USER/PASSWORD` makes the mount require those
credentials (RTSP basic auth; others get 401), the other mounts stay open. `,phase=S` holds the
first keyframe back S seconds after the client starts playing: each client's stream otherwise
starts when it connects, so clients that connect together get their keyframes together, where
real cameras' encoders each keep their own rhythm.
"""

from __future__ import annotations

import argparse
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def load_access_units(path: str) -> tuple[Gst.Caps, list[tuple[int, int, bytes, bool]], int]:
    pipeline = Gst.parse_launch(
        f'filesrc location="{path}" ! qtdemux ! h264parse config-interval=-1 '
        "! video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false"
    )
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    units, caps = [], None
    while True:
        sample = sink.emit("pull-sample")
        if sample is None:
            break
        buf = sample.get_buffer()
        caps = sample.get_caps()
        keyframe = not buf.has_flags(Gst.BufferFlags.DELTA_UNIT)
        units.append((buf.pts, buf.duration, buf.extract_dup(0, buf.get_size()), keyframe))
    pipeline.set_state(Gst.State.NULL)
    if not units or caps is None:
        sys.exit(f"{path}: no H.264 video found")
    last_pts, last_dur = units[-1][0], units[-1][1]
    step = last_dur if last_dur != Gst.CLOCK_TIME_NONE else units[1][0] - units[0][0]
    return caps, units, last_pts + step - units[0][0]


class LoopFactory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, path: str, freeze_after_s: float | None, once: bool = False, phase_s: float = 0.0) -> None:
        super().__init__()
        self.caps, self.units, self.length = load_access_units(path)
        self.freeze_after = None if freeze_after_s is None else int(freeze_after_s * Gst.SECOND)
        self.once = once
        self.phase = int(phase_s * Gst.SECOND)
        self.set_shared(False)
        self.connect("media-configure", self._configure)

    def do_create_element(self, url: GstRtspServer.RTSPUrl) -> Gst.Element:
        return Gst.parse_launch(
            "( appsrc name=src is-live=true format=time do-timestamp=false "
            "! rtph264pay name=pay0 pt=96 config-interval=1 )"
        )

    def _configure(self, _factory: object, media: GstRtspServer.RTSPMedia) -> None:
        src = media.get_element().get_child_by_name("src")
        src.set_property("caps", self.caps)
        state = {"loop": 0}
        base = self.units[0][0]

        def need_data(appsrc: Gst.Element, _length: int) -> None:
            # A whole loop of the clip at once: the sink paces it by the timestamps, and this Python
            # callback, which has to take the GIL from a streaming thread, runs once per loop instead
            # of once per frame (per frame, the GIL handoffs between cameras' threads cost the server
            # more than the streaming itself).
            if state["loop"] == -1:
                return
            if self.once and state["loop"] == 1:
                appsrc.emit("end-of-stream")  # played once: the stream ends
                state["loop"] = -1
                return
            for pts, dur, data, _ in self.units:
                stamped = pts - base + state["loop"] * self.length
                if self.freeze_after is not None and stamped > self.freeze_after:
                    state["loop"] = -1  # frozen: the connection stays up, nothing more arrives
                    return
                buf = Gst.Buffer.new_wrapped(data)
                buf.pts = buf.dts = stamped + self.phase  # the sink sends each one at its time
                buf.duration = dur
                appsrc.emit("push-buffer", buf)
            state["loop"] += 1

        src.connect("need-data", need_data)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", default="0")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("mounts", nargs="+", help="name=file.mp4[,freeze=S][,once][,auth=USER/PASSWORD][,phase=S]")
    args = parser.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(args.port)
    mounts = server.get_mount_points()
    auth = GstRtspServer.RTSPAuth()
    anonymous = GstRtspServer.RTSPToken()
    anonymous.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "anonymous")
    auth.set_default_token(anonymous)
    server.set_auth(auth)
    for spec in args.mounts:
        name, _, rest = spec.partition("=")
        path, *opts = rest.split(",")
        options = dict(o.split("=", 1) for o in opts if "=" in o)
        factory = LoopFactory(
            path,
            float(options["freeze"]) if "freeze" in options else None,
            "once" in opts,
            float(options.get("phase", 0.0)),
        )
        # Access without construct answers 401 (a challenge) rather than 404 (no such mount).
        roles = {"anonymous": "true"}
        if "auth" in options:
            user, _, password = options["auth"].partition("/")
            roles = {"anonymous": "false", f"user-{name}": "true"}
            token = GstRtspServer.RTSPToken()
            token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, f"user-{name}")
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        for role, construct in roles.items():
            factory.add_role_from_structure(
                Gst.Structure.new_from_string(
                    f"{role}, media.factory.access=(boolean)true, media.factory.construct=(boolean){construct}"
                )
            )
        mounts.add_factory(f"/{name}", factory)
    if server.attach(None) == 0:
        sys.exit("could not bind the RTSP port")
    print(f"READY {server.get_bound_port()}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
