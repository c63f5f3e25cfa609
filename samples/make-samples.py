#!/usr/bin/env python3
"""Regenerate the benign sample images in this folder (procedural drawings, no photographs).

Needs Pillow. Output is deterministic for a given Pillow version.
"""
from PIL import Image, ImageDraw, ImageFilter

def scene(w, h, hue):
    im = Image.new("RGB", (w, h))
    px = im.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = (int(80 + 120 * y / h) % 256, int(hue + 60 * x / w) % 256, int(200 - 90 * y / h))
    d = ImageDraw.Draw(im)
    d.ellipse((w * 0.65, h * 0.1, w * 0.85, h * 0.4), fill=(250, 220, 90))
    d.polygon([(0, h), (w * 0.3, h * 0.45), (w * 0.6, h), ], fill=(40, 110, 60))
    d.polygon([(w * 0.4, h), (w * 0.75, h * 0.5), (w, h)], fill=(60, 90, 50))
    for i in range(0, w // 3, 12):
        d.rectangle((i, h * 0.55, i + 7, h * 0.9), fill=(190, 180, 160))
    d.text((10, 10), "hashline sample", fill=(255, 255, 255))
    return im

a = scene(640, 400, 40)
a.save("landscape.jpg", quality=88)
a.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save("landscape-mirrored.jpg", quality=88)
a.resize((320, 200)).save("landscape-small.png")
scene(480, 480, 140).filter(ImageFilter.GaussianBlur(1)).save("square.webp", quality=80)
open("notes.txt", "w").write("Not an image: hashline gives it digests and skips PDQ.\n")
