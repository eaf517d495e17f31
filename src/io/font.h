/* The built-in 5x7 bitmap font (plus a descender row) behind canvas text. */
#ifndef AMOD_IO_FONT_H
#define AMOD_IO_FONT_H

#define AMOD_FONT_W 5       /* glyph columns */
#define AMOD_FONT_H 8       /* glyph rows: 7 and a descender row */
#define AMOD_FONT_ADVANCE 6 /* one blank column between glyphs */
#define AMOD_FONT_LINE 10   /* two blank rows between lines */

/* Five column bytes (bit 0 = top row, bit 7 = descender) for a character; a hollow box for non-printables. */
const unsigned char *amod_font_glyph(int ch);

#endif
