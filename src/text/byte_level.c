/* GPT-2's bytes_to_unicode: the 188 printable Latin-1 bytes stand for themselves, the other 68
 * (controls, space, 0x7f-0xa0, 0xad) for U+0100 upwards in byte order, so that every token of a
 * byte-level vocabulary is printable text. */
#include "text/tokenizer_internal.h"

static int printable(unsigned b) { return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae; }

/* The code point standing for byte b. */
static unsigned stand_in(unsigned b) {
    if (printable(b)) return b;
    unsigned n = 0; /* b is the n-th non-printable byte */
    for (unsigned c = 0; c < b; c++) n += !printable(c);
    return 256 + n;
}

int byte_level_char(unsigned char b, unsigned char out[2]) {
    const unsigned cp = stand_in(b);
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    out[0] = (unsigned char)(0xc0 | (cp >> 6)), out[1] = (unsigned char)(0x80 | (cp & 0x3f));
    return 2;
}

/* The byte code point cp stands for, or -1. */
static int byte_of(unsigned cp) {
    if (cp < 256) return printable(cp) ? (int)cp : -1;
    unsigned n = cp - 256; /* the n-th non-printable byte */
    for (unsigned b = 0; b < 256; b++)
        if (!printable(b) && n-- == 0) return (int)b;
    return -1;
}

long byte_level_decode(const unsigned char *s, size_t n, unsigned char *out) {
    long k = 0;
    for (size_t i = 0; i < n;) {
        unsigned cp;
        if (s[i] < 0x80) {
            cp = s[i++];
        } else if ((s[i] & 0xe0) == 0xc0 && i + 1 < n && (s[i + 1] & 0xc0) == 0x80) {
            cp = (unsigned)(s[i] & 0x1f) << 6 | (s[i + 1] & 0x3f);
            i += 2;
        } else {
            return -1;
        }
        const int b = byte_of(cp);
        if (b < 0) return -1;
        out[k++] = (unsigned char)b;
    }
    return k;
}
