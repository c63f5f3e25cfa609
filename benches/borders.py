#!/usr/bin/env python3
"""Border benchmark: recall on bordered copies and a false-match study, reference PDQ vs
python-threatexchange's unletterbox vs hashline's border_trimmed variant.

All pictures are benign: the shared wallpaper/photo corpus, the PDQ test vectors and frames of
the shared sample videos. Run through benches/borders.sh (it builds hashline and the peers).

Usage: borders.py HASHLINE_BIN CORPUS_DIR VECTORS_DIR VIDEOS_DIR WORK_DIR [LISTED]
"""
import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw
from threatexchange.content_type.photo import PhotoContent
from threatexchange.signal_type.pdq.pdq_hasher import pdq_from_bytes, pdq_from_file

THRESHOLD = 31  # distance (inclusive) for every method: the reference's and pytx's rule
MIN_QUALITY = 50
MAX_SIDE = 640  # listed pictures are the corpus pictures at this size (keeps the peers fast)

binary, corpus, vectors, videos, work = map(Path, sys.argv[1:6])
listed_n = int(sys.argv[6]) if len(sys.argv) > 6 else 60
work.mkdir(parents=True, exist_ok=True)


def dist(a, b):
    return (int(a, 16) ^ int(b, 16)).bit_count()


def fit(img, w, h, colour):
    """img centred on a w x h canvas of colour (letterbox or pillarbox)."""
    scale = min(w / img.width, h / img.height)
    inner = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.LANCZOS)
    canvas = Image.new("RGB", (w, h), colour)
    canvas.paste(inner, ((w - inner.width) // 2, (h - inner.height) // 2))
    return canvas


def bars(img, aspect, colour=(0, 0, 0)):
    """Bars to the given aspect (w/h) around img, at img's scale."""
    if img.width / img.height > aspect:  # wider: bars above and below
        return fit(img, img.width, round(img.width / aspect), colour)
    return fit(img, round(img.height * aspect), img.height, colour)


def border(img, share, colour):
    bw, bh = round(img.width * share), round(img.height * share)
    canvas = Image.new("RGB", (img.width + 2 * bw, img.height + 2 * bh), colour)
    canvas.paste(img, (bw, bh))
    return canvas


def square(img, colour):
    side = max(img.size)
    canvas = Image.new("RGB", (side, side), colour)
    canvas.paste(img, ((side - img.width) // 2, (side - img.height) // 2))
    return canvas


def screenshot(img):
    """Solid bars above and below with a few lines of text in them, as a phone screenshot."""
    bar = round(img.height * 0.18)
    canvas = Image.new("RGB", (img.width, img.height + 2 * bar), (18, 18, 20))
    canvas.paste(img, (0, bar))
    d = ImageDraw.Draw(canvas)
    for i, line in enumerate(["12:41  ▪ 87%", "Shared with you", "  reply · like · share"]):
        d.text((12, 8 + 16 * i), line, fill=(235, 235, 235))
    d.text((12, img.height + bar + 10), "Sent 3 minutes ago", fill=(200, 200, 200))
    return canvas


TRANSFORMS = {
    "bars_16x9": (lambda im: bars(im, 16 / 9), "png"),
    "bars_9x16": (lambda im: bars(im, 9 / 16), "png"),
    "white_border_5pct": (lambda im: border(im, 0.05, (255, 255, 255)), "png"),
    "colour_pad_square": (lambda im: square(im, (40, 110, 170)), "png"),
    "bars_jpeg_q70": (lambda im: bars(im, 16 / 9), "jpeg70"),
    "bars_half_size": (lambda im: (lambda b: b.resize((b.width // 2, b.height // 2), Image.LANCZOS))(bars(im, 16 / 9)), "png"),
    "screenshot_frame": (screenshot, "png"),
}


def save(img, path, kind):
    # Names hold dots ("...-16.04--..."): append the extension, never replace a "suffix".
    if kind == "jpeg70":
        out = path.parent / (path.name + ".jpg")
        img.save(out, quality=70)
    else:
        out = path.parent / (path.name + ".png")
        img.save(out)
    return out


def hashline_hashes(paths):
    """path -> (pdq, quality, [(trimmed pdq, quality) per candidate box])"""
    out = {}
    lst = work / "paths.txt"
    lst.write_text("\n".join(str(p) for p in paths))
    res = subprocess.run(
        f"xargs -a {lst} -d '\\n' {binary} hash --trim-borders -j 2", shell=True, capture_output=True, text=True
    )
    for line in res.stdout.splitlines():
        j = json.loads(line)
        trimmed = [(t["pdq"], t["quality"]) for t in j.get("trimmed", [])]
        out[j["path"]] = (j.get("pdq"), j.get("quality") or 0, trimmed, j.get("pdq_pytx"))
    return out


# 1. Listed pictures: LISTED corpus pictures (sorted by name) at most MAX_SIDE, as PNG, that a
# hash list can hold at all (reference quality >= 50: HMA refuses to hash anything lower) and
# that are distinct (more than THRESHOLD from every picture listed before: the corpus holds the
# same wallpaper in several sizes).
listed_dir, transformed_dir = work / "listed", work / "transformed"
listed_dir.mkdir(exist_ok=True)
transformed_dir.mkdir(exist_ok=True)
sources = sorted(p for p in corpus.iterdir() if p.is_file())
listed, others_src, chosen = [], [], []
for p in sources:
    im = Image.open(p).convert("RGB")
    im.thumbnail((MAX_SIDE, MAX_SIDE), Image.LANCZOS)
    dst = listed_dir / (p.stem + ".png")
    im.save(dst)
    h, q = pdq_from_file(dst)
    if len(listed) < listed_n and q >= MIN_QUALITY and all(dist(h, c) > THRESHOLD for c in chosen):
        listed.append(dst)
        chosen.append(h)
    else:
        others_src.append(dst)
queries = []  # (group, transform, path)
for lp in listed:
    im = Image.open(lp).convert("RGB")
    for name, (f, kind) in TRANSFORMS.items():
        queries.append((lp.stem, name, save(f(im), transformed_dir / f"{lp.stem}--{name}", kind)))

# 2. Hashes: the reference (pdqhash on Pillow's array, as HMA), pytx unletterbox, hashline.
ref = {}
for p in listed + [q[2] for q in queries]:
    h, q = pdq_from_file(p)
    ref[p] = (h, q)
unl = {}
unl_failed = 0
for _, _, p in queries:
    try:
        h, q = pdq_from_bytes(PhotoContent.unletterbox(p, black_threshold=15))
    except ValueError:  # pytx crops nothing left on some pictures ("right is less than left")
        h, q, unl_failed = "0" * 64, 0, unl_failed + 1
    unl[p] = (h, q)
hl = hashline_hashes(listed + [q[2] for q in queries])
exact = sum(1 for p in listed if hl[str(p)][0] == ref[p][0])


def found_ref(query, src):
    h, q = ref[query]
    return q >= MIN_QUALITY and dist(h, ref[src][0]) <= THRESHOLD


def found_unl(query, src):
    h, q = unl[query]
    return q >= MIN_QUALITY and dist(h, ref[src][0]) <= THRESHOLD


def found_hl(query, src):
    pdq, q, trimmed, _ = hl[str(query)]
    listed_hash = hl[str(src)][0]
    if pdq and q >= MIN_QUALITY and dist(pdq, listed_hash) <= THRESHOLD:
        return True
    return any(tq >= MIN_QUALITY and dist(t, listed_hash) <= THRESHOLD for t, tq in trimmed)


by_stem = {p.stem: p for p in listed}
rows = []
for name in TRANSFORMS:
    qs = [(g, p) for g, t, p in queries if t == name]
    r = [sum(f(p, by_stem[g]) for g, p in qs) / len(qs) for f in (found_ref, found_unl, found_hl)]
    rows.append((name, len(qs), *r))

# 2b. Lists built by HMA from palette, GIF and CMYK pictures: the list holds the hash
# python-threatexchange computes for the file; hashline hashes the same file.
conv_dir = work / "converted"
conv_dir.mkdir(exist_ok=True)
converted = []  # (kind, path)
for lp in listed:
    im = Image.open(lp).convert("RGB")
    for kind, make, ext in [
        ("palette PNG", lambda i: i.convert("P", palette=Image.ADAPTIVE), "png"),
        ("GIF", lambda i: i, "gif"),
        ("CMYK JPEG", lambda i: i.convert("CMYK"), "jpg"),
    ]:
        out = conv_dir / f"{lp.name}.{kind.split()[0].lower()}.{ext}"
        make(im).save(out)
        converted.append((kind, out))
hlc = hashline_hashes([p for _, p in converted])
conv_rows = []
for kind in ["palette PNG", "GIF", "CMYK JPEG"]:
    items = [p for k, p in converted if k == kind]
    plain = with_variant = 0
    for p in items:
        listed_hash, _ = pdq_from_file(p)
        pdq, q, _, pytx = hlc[str(p)]
        plain += bool(pdq) and dist(pdq, listed_hash) <= THRESHOLD
        with_variant += (bool(pdq) and dist(pdq, listed_hash) <= THRESHOLD) or (bool(pytx) and dist(pytx, listed_hash) <= THRESHOLD)
    conv_rows.append((kind, len(items), plain / len(items), with_variant / len(items)))

# 3. False-match study: distinct benign pictures (corpus, PDQ vectors, video frames), their
# bordered copies as queries; a false match is a query matching a picture of another group.
frames_dir = work / "frames"
frames_dir.mkdir(exist_ok=True)
for v in sorted(videos.glob("*.mp4")):
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(v), "-vf", "fps=1/2", str(frames_dir / f"{v.stem}--%03d.png")],
        check=True,
    )
others = [(p.stem, p) for p in others_src]  # (group, path)
for p in sorted(vectors.rglob("*")):
    if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".gif"):
        others.append(("vectors:" + p.parent.name, p))
for p in sorted(frames_dir.glob("*.png")):
    others.append(("video:" + p.name.split("--")[0].split("-")[0], p))
extra = hashline_hashes([p for _, p in others])
pictures = [(p.stem, str(p)) for p in listed] + [(g, str(p)) for g, p in others]
allh = {**hl, **extra}
# The same picture twice is not a false match: pictures whose hashes are within THRESHOLD of
# each other (the corpus ships some wallpapers in several sizes, a video's frames repeat) or
# that share a group (a video, a vectors folder) are one picture.
parent = {}


def find(x):
    parent.setdefault(x, x)
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


hashed = [(g, allh[p][0]) for g, p in pictures if p in allh and allh[p][0]]
for i, (gi, hi) in enumerate(hashed):
    for gj, hj in hashed[i + 1 :]:
        if dist(hi, hj) <= THRESHOLD:
            parent[find(gi)] = find(gj)
pictures = [(find(g), p) for g, p in pictures]
queries = [(find(g), t, p) for g, t, p in queries]
entries = [(g, allh[p][0]) for g, p in pictures if p in allh and allh[p][0]]
probe = [(g, allh[p], p) for g, p in pictures if p in allh] + [(g, hl[str(p)], str(p)) for g, _, p in queries]
entry_paths = {allh[p][0]: p for g, p in pictures if p in allh and allh[p][0]}
pairs = base_fm = trim_fm = added_fm = 0
closest_trim = 256
for g, (pdq, q, trimmed, _), qpath in probe:
    for eg, eh in entries:
        if eg == g:
            continue
        pairs += 1
        base = bool(pdq) and q >= MIN_QUALITY and dist(pdq, eh) <= THRESHOLD
        base_fm += base
        ds = [dist(t, eh) for t, tq in trimmed if tq >= MIN_QUALITY]
        if ds and min(ds) <= THRESHOLD:
            trim_fm += 1
            added_fm += not base
            if os.environ.get("BORDERS_DEBUG"):
                print("false match:", min(ds), Path(qpath).name, "->", Path(entry_paths[eh]).name, file=sys.stderr)
        elif ds:
            closest_trim = min(closest_trim, min(ds))
trimmed_queries = sum(1 for _, h, _ in probe if h[2])
candidates = sum(len(h[2]) for _, h, _ in probe)

print(
    f"listed pictures: {len(listed)} distinct corpus pictures of reference quality >= {MIN_QUALITY}, <= {MAX_SIDE} px; "
    f"hashline PDQ = reference on {exact}/{len(listed)}"
)
print(f"pytx unletterbox raised an error on {unl_failed} of {len(queries)} copies (counted as not found)")
print()
print("| transform | copies | reference PDQ | pytx unletterbox | hashline |")
print("|---|---:|---:|---:|---:|")
for name, n, a, b, c in rows:
    print(f"| {name} | {n} | {a:.0%} | {b:.0%} | **{c:.0%}** |")
print()
print()
print("Lists built by HMA (python-threatexchange) from pictures it reads differently: the same files through hashline")
print()
print("| copies of the listed pictures | files | hashline PDQ within 31 of HMA's | with the pytx_conversion variant |")
print("|---|---:|---:|---:|")
for kind, n, a, b in conv_rows:
    print(f"| {kind} | {n} | {a:.0%} | **{b:.0%}** |")
print()
print(
    f"false-match study: {len(entries)} distinct benign pictures listed ({len(listed) + len(others)} pictures: corpus, "
    f"PDQ vectors, {len(list(frames_dir.glob('*.png')))} video frames), {len(probe)} queries "
    f"({trimmed_queries} with a border_trimmed variant, {candidates} trimmed hashes), {pairs:,} query/entry pairs "
    "of different pictures"
)
print(f"  original variant: {base_fm} matches ({base_fm / pairs * 1e6:.1f} per million pairs)")
print(
    f"  border_trimmed variant: {trim_fm} matches, {added_fm} of them not also made by the original variant "
    f"({added_fm / pairs * 1e6:.1f} added per million pairs); closest non-matching distance {closest_trim}"
)
