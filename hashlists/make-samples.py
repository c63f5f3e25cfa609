#!/usr/bin/env python3
"""Regenerate the synthetic sample lists in samples/. Every value is random (a fixed seed): none
is the hash of any real file, let alone of abuse material."""
import json, random

rng = random.Random(20261129)
hx = lambda n: "".join(rng.choice("0123456789abcdef") for _ in range(n))

def write(name, text):
    open(f"samples/{name}", "w").write(text)

pdqs = [hx(64) for _ in range(5)]
md5s = [hx(32) for _ in range(5)]
sha1s = [hx(40) for _ in range(3)]
write("pytx-file.txt", "# python-threatexchange / HMA local file: <signal_type> <value>\n"
      + "".join(f"pdq {p}\n" for p in pdqs[:3]) + "".join(f"video_md5 {m}\n" for m in md5s[:2]))
write("pytx.csv", "signal_type,signal_str,collab,category,tags\n"
      + "".join(f"pdq,{p},synthetic-collab,A1,\"synthetic demo\"\n" for p in pdqs[3:])
      + f"md5,{md5s[2]},synthetic-collab,B2,synthetic\n")
write("plain.hex", "".join(f"{m}\n" for m in md5s[3:]) + "".join(f"{s}\n" for s in sha1s))
write("vics.json", json.dumps({"odata.metadata": "synthetic", "value": [
    {"MediaID": 1001, "Category": 1, "MD5": md5s[0].upper(), "SHA1": sha1s[0].upper()},
    {"MediaID": 1002, "Category": 2, "MD5": md5s[1].upper()}]}, indent=1) + "\n")
write("ncmec.xml", f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Synthetic: the shape of a NCMEC hash-sharing API v2 entries response; every value is random. -->
<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
  <images count="2">
    <image>
      <member id="9001">Synthetic Member</member>
      <timestamp>2026-01-15T10:00:00Z</timestamp>
      <id>syn-img-1</id>
      <classification>A1</classification>
      <fingerprints><md5>{md5s[3]}</md5><sha1>{sha1s[1]}</sha1><pdq>{pdqs[0]}</pdq><photodna>{hx(48)}</photodna></fingerprints>
    </image>
    <image>
      <member id="9001">Synthetic Member</member>
      <timestamp>2026-01-16T10:00:00Z</timestamp>
      <id>syn-img-2</id>
      <classification>B1</classification>
      <fingerprints><md5>{md5s[4]}</md5><pdq>{pdqs[1]}</pdq></fingerprints>
    </image>
  </images>
  <videos count="1">
    <video>
      <member id="9002">Another Synthetic Member</member>
      <timestamp>2026-01-17T10:00:00Z</timestamp>
      <id>syn-vid-1</id>
      <fingerprints><md5>{hx(32)}</md5></fingerprints>
    </video>
  </videos>
  <deletedImages count="1">
    <deletedImage><member id="9001">Synthetic Member</member><id>syn-img-0</id><timestamp>2026-01-18T00:00:00Z</timestamp></deletedImage>
  </deletedImages>
</queryResult>
""")
