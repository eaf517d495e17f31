/* JPEG decoding with libjpeg, from memory.
 *
 * libjpeg's default error handler calls exit(); ours longjmps back instead, so a corrupt file
 * is an error message. The warning for a file that ends early (libjpeg would pad it with gray)
 * is an error too, as in PIL; other corrupt-data warnings are tolerated, as in PIL. */
#include "io/image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#ifdef AMOD_HAVE_JPEG
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

typedef struct {
    struct jpeg_error_mgr pub; /* first, so the library's pointer is ours */
    jmp_buf jump;
    int truncated;
    char msg[JMSG_LENGTH_MAX];
} jpeg_errors;

typedef struct {
    const unsigned char *data;
    size_t size;
    struct jpeg_decompress_struct cinfo;
    jpeg_errors jerr;
    unsigned char *row; /* one decoded scanline */
    amod_image img;
} jpeg_reader;

static void on_jpeg_error(j_common_ptr cinfo) {
    jpeg_errors *e = (jpeg_errors *)cinfo->err;
    e->pub.format_message(cinfo, e->msg);
    longjmp(e->jump, 1);
}

static void on_jpeg_message(j_common_ptr cinfo, int level) {
    jpeg_errors *e = (jpeg_errors *)cinfo->err;
    if (level < 0 && e->pub.msg_code == JWRN_JPEG_EOF) {
        e->truncated = 1;
        longjmp(e->jump, 1);
    }
    if (level < 0) e->pub.num_warnings++;
}

/* Pillow's MULDIV255: a * b / 255, rounded. */
static unsigned char muldiv255(int a, int b) {
    int t = a * b + 128;
    return (unsigned char)((t + (t >> 8)) >> 8);
}

static int jpeg_decode_jmp(jpeg_reader *r) {
    j_decompress_ptr cinfo = &r->cinfo;
    if (setjmp(r->jerr.jump)) return -1;
    jpeg_create_decompress(cinfo);
    jpeg_mem_src(cinfo, (unsigned char *)r->data, (unsigned long)r->size);
    jpeg_read_header(cinfo, TRUE);
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE: cinfo->out_color_space = JCS_GRAYSCALE; break;
    case JCS_CMYK:
    case JCS_YCCK: cinfo->out_color_space = JCS_CMYK; break;
    default: cinfo->out_color_space = JCS_RGB; break;
    }
    if ((unsigned long long)cinfo->image_width * cinfo->image_height > (unsigned long long)AMOD_IMAGE_MAX_PIXELS) {
        snprintf(r->jerr.msg, sizeof r->jerr.msg, "image too large (%ux%u pixels)", (unsigned)cinfo->image_width,
                 (unsigned)cinfo->image_height);
        return -1;
    }
    jpeg_start_decompress(cinfo);
    int w = (int)cinfo->output_width, h = (int)cinfo->output_height, nc = cinfo->output_components;
    if (nc != 1 && nc != 3 && nc != 4) {
        snprintf(r->jerr.msg, sizeof r->jerr.msg, "unsupported number of components (%d)", nc);
        return -1;
    }
    r->row = malloc((size_t)w * (size_t)nc);
    if (!r->row || amod_image_alloc(&r->img, w, h, NULL)) {
        snprintf(r->jerr.msg, sizeof r->jerr.msg, "out of memory");
        return -1;
    }
    /* Adobe's CMYK JPEGs store inverted samples (PIL's "CMYK;I"). */
    int inverted = cinfo->saw_Adobe_marker;
    while (cinfo->output_scanline < cinfo->output_height) {
        unsigned char *d = r->img.rgb + (size_t)cinfo->output_scanline * (size_t)w * 3;
        JSAMPROW rows[1] = {r->row};
        jpeg_read_scanlines(cinfo, rows, 1);
        for (int x = 0; x < w; x++) {
            const unsigned char *s = r->row + (size_t)x * nc;
            if (nc == 1) {
                d[3 * x] = d[3 * x + 1] = d[3 * x + 2] = s[0];
            } else if (nc == 3) {
                memcpy(d + 3 * x, s, 3);
            } else {
                int k = inverted ? s[3] : 255 - s[3]; /* 255 - K */
                for (int c = 0; c < 3; c++) {
                    int v = inverted ? 255 - s[c] : s[c];
                    d[3 * x + c] = (unsigned char)(k - muldiv255(v, k));
                }
            }
        }
    }
    jpeg_finish_decompress(cinfo);
    return 0;
}

int amod_image_decode_jpeg(const unsigned char *data, size_t size, const char *name, amod_image *out,
                           amod_error *err) {
    jpeg_reader *r = calloc(1, sizeof *r);
    out->width = out->height = 0;
    out->rgb = NULL;
    if (!r) return amod_fail(err, "%s: out of memory starting the JPEG decoder", name);
    r->data = data;
    r->size = size;
    r->cinfo.err = jpeg_std_error(&r->jerr.pub);
    r->jerr.pub.error_exit = on_jpeg_error;
    r->jerr.pub.emit_message = on_jpeg_message;
    int rc = jpeg_decode_jmp(r);
    jpeg_destroy_decompress(&r->cinfo);
    free(r->row);
    if (rc) {
        amod_image_free(&r->img);
        if (r->jerr.truncated)
            amod_fail(err, "%s: truncated JPEG (the file ends early)", name);
        else
            amod_fail(err, "%s: corrupt JPEG: %s", name, r->jerr.msg);
        free(r);
        return -1;
    }
    *out = r->img;
    free(r);
    return 0;
}

#else /* !AMOD_HAVE_JPEG */

int amod_image_decode_jpeg(const unsigned char *data, size_t size, const char *name, amod_image *out,
                           amod_error *err) {
    out->width = out->height = 0;
    out->rgb = NULL;
    return amod_fail(err, "%s: cannot read JPEG: amod was built without libjpeg", name);
}

#endif
