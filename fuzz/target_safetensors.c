/* Fuzz target: a safetensors file from memory, then every tensor read back the way the model
 * loader reads it, so a header that lies about offsets shows as an out-of-bounds read. An
 * accepted file must have no two tensors that share a name or a byte. */
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "targets.h"

static int is_float(st_dtype d) { return d == ST_F32 || d == ST_F16 || d == ST_BF16 || d == ST_F64; }

int amod_fuzz_safetensors(const uint8_t *data, size_t size, const char *name, amod_error *err) {
    st_file f;
    if (st_open_memory(&f, name, data, size, err)) {
        if (f.bytes || f.tensors || f.n) amod_fuzz_broken("st_open_memory failed but left the file open");
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < f.n && !rc; i++) {
        const st_tensor *t = &f.tensors[i];
        if (t->begin > t->end || t->end > f.size - f.data_start)
            amod_fuzz_broken("tensor '%s' [%zu, %zu) lies outside the %zu data bytes", t->name, t->begin, t->end,
                             f.size - f.data_start);
        if (st_find(&f, t->name) != t) amod_fuzz_broken("tensor %d, '%s', is not what its name finds", i, t->name);
        /* No two tensors with data may share a byte: checked pair by pair, not as the reader does. */
        for (int j = 0; j < i; j++) {
            const st_tensor *u = &f.tensors[j];
            if (t->begin < t->end && u->begin < u->end && t->begin < u->end && u->begin < t->end)
                amod_fuzz_broken("tensors '%s' and '%s' overlap", u->name, t->name);
        }
        /* numel <= the tensor's bytes, so these buffers are bounded by the input's size. */
        float *v = malloc(t->numel * sizeof *v + 1);
        if (!v) abort();
        st_read_f32(&f, t, v);
        free(v);
        if (is_float(t->dtype)) {
            if (!st_expect(&f, t->name, t->ndim, t->shape, err)) rc = -1;
        } else if (t->dtype == ST_I64 || t->dtype == ST_I32) {
            int64_t *iv = malloc(t->numel * sizeof *iv + 1);
            if (!iv) abort();
            rc = st_read_i64(&f, t, iv, err);
            free(iv);
        }
    }
    st_close(&f);
    return rc;
}
