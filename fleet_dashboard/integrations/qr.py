"""QR codes rendered as SVG here, so neither the API nor the dashboard loads a QR library in the browser."""

from __future__ import annotations

import base64
import re

import qrcode
import qrcode.image.svg

_SIZE_ATTRS = re.compile(r'\s(width|height)="[^"]*mm"')


def qr_svg(data: str, *, size_px: int = 264) -> str:
    """A standalone SVG of the QR code with a white quiet zone, sized in pixels."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4,
                       image_factory=qrcode.image.svg.SvgPathFillImage)
    qr.add_data(data)
    qr.make(fit=True)
    svg = qr.make_image().to_string(encoding="unicode")
    # The factory sizes in millimetres; pixels render the same on every screen.
    svg = _SIZE_ATTRS.sub("", svg, count=2)
    return svg.replace("<svg ", f'<svg width="{size_px}" height="{size_px}" ', 1)


def qr_data_uri(data: str, *, size_px: int = 264) -> str:
    """The same SVG as a data: URI, for an <img src>."""
    encoded = base64.b64encode(qr_svg(data, size_px=size_px).encode()).decode()
    return f"data:image/svg+xml;base64,{encoded}"
