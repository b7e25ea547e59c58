"""Small real media files for the demo history: two photos and a PDF flyer.

Generated at seed time (Pillow for the images, a hand-written PDF) so the
repository carries no binaries and every file is a valid one of its type.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw


def sunset_jpeg() -> bytes:
    """A 480×320 JPEG: a sky gradient over a lake, about 10 KB."""
    image = Image.new("RGB", (480, 320))
    draw = ImageDraw.Draw(image)
    for y in range(200):
        shade = int(255 * y / 200)
        draw.line([(0, y), (480, y)], fill=(255, 140 - shade // 3, 60 + shade // 4))
    draw.ellipse((190, 130, 290, 230), fill=(255, 210, 90))
    for y in range(200, 320):
        depth = (y - 200) * 2
        draw.line([(0, y), (480, y)], fill=(30, 60 + depth // 4, 120 + depth // 3))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=80)
    return out.getvalue()


def floor_plan_png() -> bytes:
    """A 360×240 PNG: a simple floor plan sketch."""
    image = Image.new("RGB", (360, 240), (250, 250, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 340, 220), outline=(40, 40, 40), width=4)
    draw.line((180, 20, 180, 140), fill=(40, 40, 40), width=3)
    draw.line((20, 140, 260, 140), fill=(40, 40, 40), width=3)
    draw.rectangle((60, 170, 140, 200), fill=(180, 200, 230))
    draw.text((40, 40), "Kitchen", fill=(20, 20, 20))
    draw.text((200, 40), "Living room", fill=(20, 20, 20))
    draw.text((40, 150), "Bath", fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def flyer_pdf(title: str = "Open House - Saturday 10am to 2pm") -> bytes:
    """A one-page PDF with a line of text, with a correct cross-reference table."""
    text = title.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 20 Tf 60 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
        b" /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)
