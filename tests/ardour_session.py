#!/usr/bin/env python3
"""Edit an Ardour 7 session file (.ardour) where Ardour 7.3's headless Lua cannot.

    ardour_session.py SESSION_DIR NAME TRACK WAV

puts WAV (a stereo WAV at the session's rate) whole on track TRACK at sample 0 — copied
into the session's interchange/NAME/audiofiles folder, one Source per channel, a whole-file
Region and its copy in the track's playlist, with no fades — and sets the session range
(what ardour7-export exports) to the file's length. Ardour 7.3's Lua bindings have no file
import (only the editor's `do_import`) and set the session range only through the editor.

Positions are superclock ticks (282 240 000 per second), written "a<ticks>"; a region's
length is "a<length>@a<position>". New object ids come from the root's `id-counter`, which
is raised so Ardour never reuses them.
"""
import os
import shutil
import struct
import sys
import xml.etree.ElementTree as ET

SUPERCLOCK = 282_240_000


def wav_shape(path):
    """(channels, rate, frames) of a WAV file."""
    data = open(path, "rb").read()
    i, channels, rate, align = 12, None, None, None
    while i + 8 <= len(data):
        cid, size = data[i:i + 4], struct.unpack("<I", data[i + 4:i + 8])[0]
        if cid == b"fmt ":
            _, channels, rate, _, align, _ = struct.unpack("<HHIIHH", data[i + 8:i + 24])
        elif cid == b"data":
            return channels, rate, size // align
        i += 8 + size + (size & 1)
    sys.exit(f"{path}: no data chunk")


def main():
    session_dir, name, track, wav = sys.argv[1:5]
    path = os.path.join(session_dir, name + ".ardour")
    tree = ET.parse(path)
    root = tree.getroot()
    rate = int(root.get("sample-rate"))
    channels, wav_rate, frames = wav_shape(wav)
    if wav_rate != rate:
        sys.exit(f"{wav}: {wav_rate} Hz, the session runs at {rate} Hz")
    tick = SUPERCLOCK // rate

    def new_id():
        counter = int(root.get("id-counter"))
        root.set("id-counter", str(counter + 1))
        return str(counter)

    folder = os.path.join(session_dir, "interchange", name, "audiofiles")
    os.makedirs(folder, exist_ok=True)
    base = os.path.basename(wav)
    shutil.copyfile(wav, os.path.join(folder, base))
    sources = []
    for channel in range(channels):
        sources.append(new_id())
        ET.SubElement(root.find("Sources"), "Source", {
            "name": base, "take-id": "", "type": "audio", "flags": "", "id": sources[-1],
            "natural-position": "a0", "captured-for": "", "channel": str(channel),
            "origin": "", "gain": "1"})

    def region(whole):
        attrs = {
            "name": os.path.splitext(base)[0], "muted": "0", "opaque": "1", "locked": "0",
            "video-locked": "0", "automatic": "0", "whole-file": "1" if whole else "0",
            "import": "0", "external": "0", "sync-marked": "0", "left-of-split": "0",
            "right-of-split": "0", "hidden": "0", "position-locked": "0",
            "valid-transients": "0", "start": "a0", "length": f"a{frames * tick}@a0",
            "sync-position": "a0", "ancestral-start": "a0", "ancestral-length": "a0@a0",
            "stretch": "1", "shift": "1", "layering-index": "0", "tags": "", "contents": "0",
            "envelope-active": "0", "default-fade-in": "0", "default-fade-out": "0",
            # Ardour's default 64-sample fades would change the first and last samples.
            "fade-in-active": "0", "fade-out-active": "0", "scale-amplitude": "1",
            "id": new_id(), "type": "audio", "first-edit": "nothing",
            "channels": str(channels)}
        for channel, source in enumerate(sources):
            attrs[f"source-{channel}"] = source
            attrs[f"master-source-{channel}"] = source
        return attrs

    ET.SubElement(root.find("Regions"), "Region", region(True))
    route = next(r for r in root.find("Routes") if r.get("name") == track)
    playlist = next(p for p in root.find("Playlists")
                    if p.get("id") == route.get("audio-playlist"))
    ET.SubElement(playlist, "Region", region(False))

    locations = root.find("Locations")
    for location in list(locations):
        if "IsSessionRange" in location.get("flags", ""):
            locations.remove(location)
    ET.SubElement(locations, "Location", {
        "id": new_id(), "name": "session", "start": "a0", "end": f"a{frames * tick}",
        "flags": "IsSessionRange", "locked": "0", "timestamp": "0", "cue": "0"})
    tree.write(path, encoding="UTF-8", xml_declaration=True)


if __name__ == "__main__":
    main()
