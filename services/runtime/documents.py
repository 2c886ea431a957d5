"""What every PDF the system makes shares: the embedded font that writes French and Arabic alike
(DejaVu Sans, ``fonts/``, Bitstream Vera licence), shaped by HarfBuzz (fpdf2's ``set_text_shaping``,
``uharfbuzz``): the portal's receipt and CG, notifications' attestation."""

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # fpdf2 is imported where a document is made: see services/notifications/adapters/attestation.py
    from fpdf import FPDF

FONTS = Path(__file__).parent / "fonts"
FAMILY = "dejavu"


def embed_unicode_font(pdf: "FPDF") -> None:
    """DejaVu Sans (regular and bold) as ``FAMILY``, with shaping: Arabic letters joined, read right
    to left, digits and numbers kept left to right."""
    pdf.add_font(FAMILY, "", FONTS / "DejaVuSans.ttf")
    pdf.add_font(FAMILY, "B", FONTS / "DejaVuSans-Bold.ttf")
    pdf.set_text_shaping(True)
