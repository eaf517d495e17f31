#include "io/safetensors.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* Refuse absurd files before allocating for them. */
#define ST_MAX_HEADER (100u << 20)
#define ST_MAX_TENSORS 1000000

static const struct {
    const char *name;
    st_dtype dtype;
    size_t size;
} dtypes[] = {
    {"F32", ST_F32, 4}, {"F16", ST_F16, 2}, {"BF16", ST_BF16, 2}, {"F64", ST_F64, 8},
    {"I64", ST_I64, 8}, {"I32", ST_I32, 4}, {"U8", ST_U8, 1},     {"BOOL", ST_BOOL, 1},
};

static size_t dtype_size(st_dtype d) {
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].dtype == d) return dtypes[i].size;
    return 0;
}

const char *st_dtype_name(st_dtype d) {
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].dtype == d) return dtypes[i].name;
    return "?";
}

static int parse_dtype(const char *s, st_dtype *out) {
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (!strcmp(s, dtypes[i].name)) {
            *out = dtypes[i].dtype;
            return 0;
        }
    return -1;
}

static int cmp_begin(const void *a, const void *b) {
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    return (x->begin > y->begin) - (x->begin < y->begin);
}

static int parse_entry(st_file *f, cJSON *item, st_tensor *t, size_t data_size, amod_error *err) {
    const char *path = f->path, *name = item->string;
    cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs) ||
        cJSON_GetArraySize(offs) != 2)
        return amod_fail(err, "%s: tensor '%s' has a malformed header entry", path, name);
    if (parse_dtype(dt->valuestring, &t->dtype))
        return amod_fail(err, "%s: tensor '%s' has unknown dtype '%s'", path, name, dt->valuestring);
    t->ndim = cJSON_GetArraySize(shape);
    if (t->ndim > ST_MAX_DIMS)
        return amod_fail(err, "%s: tensor '%s' has %d dimensions (at most %d)", path, name, t->ndim,
                         ST_MAX_DIMS);
    size_t numel = 1;
    for (int i = 0; i < t->ndim; i++) {
        cJSON *d = cJSON_GetArrayItem(shape, i);
        if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 9.0e15 ||
            d->valuedouble != floor(d->valuedouble))
            return amod_fail(err, "%s: tensor '%s' has an invalid dimension", path, name);
        t->shape[i] = (int64_t)d->valuedouble;
        if (t->shape[i] && numel > SIZE_MAX / (size_t)t->shape[i])
            return amod_fail(err, "%s: tensor '%s' has a shape whose size overflows", path, name);
        numel *= (size_t)t->shape[i];
    }
    t->numel = numel;
    double b = cJSON_GetArrayItem(offs, 0)->valuedouble, e = cJSON_GetArrayItem(offs, 1)->valuedouble;
    if (!cJSON_IsNumber(cJSON_GetArrayItem(offs, 0)) || !cJSON_IsNumber(cJSON_GetArrayItem(offs, 1)) ||
        b < 0 || e < b || e > (double)data_size || b != floor(b) || e != floor(e))
        return amod_fail(err, "%s: tensor '%s' has data offsets [%.0f, %.0f] outside the %zu data bytes "
                         "(truncated file?)", path, name, b, e, data_size);
    t->begin = (size_t)b;
    t->end = (size_t)e;
    size_t es = dtype_size(t->dtype);
    if (numel > SIZE_MAX / es)
        return amod_fail(err, "%s: tensor '%s' has a shape whose size in bytes overflows", path, name);
    if (t->end - t->begin != numel * es)
        return amod_fail(err, "%s: tensor '%s' occupies %zu bytes but its shape and dtype need %zu",
                         path, name, t->end - t->begin, numel * es);
    t->name = strdup(name);
    if (!t->name) return amod_fail(err, "%s: out of memory", path);
    return 0;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const st_tensor *const *)a)->name, (*(const st_tensor *const *)b)->name);
}

/* A lying header could alias one buffer as two tensors, or name two tensors alike (and a
 * lookup would see only the first). order holds the f->n tensors, in any order. */
static int check_layout(const st_file *f, st_tensor **order, amod_error *err) {
    qsort(order, (size_t)f->n, sizeof *order, cmp_begin);
    /* Compare with the furthest end so far, not just the previous tensor: an empty tensor
     * between two others must not hide their overlap. */
    const st_tensor *reach = NULL;
    for (int i = 0; i < f->n; i++) {
        const st_tensor *t = order[i];
        if (t->begin == t->end) continue;
        if (reach && t->begin < reach->end)
            return amod_fail(err, "%s: tensors '%s' and '%s' overlap", f->path, reach->name, t->name);
        if (!reach || t->end > reach->end) reach = t;
    }
    qsort(order, (size_t)f->n, sizeof *order, cmp_name);
    for (int i = 1; i < f->n; i++)
        if (!strcmp(order[i]->name, order[i - 1]->name))
            return amod_fail(err, "%s: tensor '%s' appears twice in the header", f->path, order[i]->name);
    return 0;
}

/* Parses f->bytes (f->size bytes, owned by f) named f->path; closes f on failure. */
static int st_parse(st_file *f, amod_error *err) {
    const char *path = f->path;
    if (f->size < 8) {
        size_t size = f->size;
        st_close(f);
        return amod_fail(err, "%s: truncated: %zu bytes, not a safetensors file", path, size);
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | f->bytes[i];
    if (hlen > ST_MAX_HEADER || hlen > f->size - 8) {
        size_t size = f->size;
        st_close(f);
        return amod_fail(err, "%s: header length %llu does not fit in the %zu-byte file (truncated or "
                         "not safetensors)", path, (unsigned long long)hlen, size);
    }
    f->data_start = 8 + (size_t)hlen;
    cJSON *root = cJSON_ParseWithLength((const char *)f->bytes + 8, (size_t)hlen);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        st_close(f);
        return amod_fail(err, "%s: header is not a JSON object", path);
    }
    int count = cJSON_GetArraySize(root);
    if (count > ST_MAX_TENSORS) {
        cJSON_Delete(root);
        st_close(f);
        return amod_fail(err, "%s: %d tensors is more than the %d allowed", path, count, ST_MAX_TENSORS);
    }
    f->tensors = calloc((size_t)count + 1, sizeof *f->tensors);
    st_tensor **order = calloc((size_t)count + 1, sizeof *order);
    int rc = 0;
    if (!f->tensors || !order) rc = amod_fail(err, "%s: out of memory for %d tensors", path, count);
    size_t data_size = f->size - f->data_start;
    for (cJSON *it = root->child; !rc && it; it = it->next) {
        if (!strcmp(it->string, "__metadata__")) continue;
        rc = parse_entry(f, it, &f->tensors[f->n], data_size, err);
        if (!rc) {
            order[f->n] = &f->tensors[f->n];
            f->n++;
        }
    }
    if (!rc) rc = check_layout(f, order, err);
    free(order);
    cJSON_Delete(root);
    if (rc) st_close(f);
    return rc;
}

int st_open(st_file *f, const char *path, amod_error *err) {
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", path);
    f->bytes = amod_read_file(path, &f->size, err);
    if (!f->bytes) return -1;
    return st_parse(f, err);
}

int st_open_memory(st_file *f, const char *name, const unsigned char *bytes, size_t size, amod_error *err) {
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", name);
    f->bytes = amod_alloc(size, err);
    if (!f->bytes) return -1;
    if (size) memcpy(f->bytes, bytes, size);
    f->size = size;
    return st_parse(f, err);
}

void st_close(st_file *f) {
    for (int i = 0; i < f->n; i++) free(f->tensors[i].name);
    free(f->tensors);
    free(f->bytes);
    f->tensors = NULL;
    f->bytes = NULL;
    f->n = 0;
}

const st_tensor *st_find(const st_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            exp = 127 - 15 + 1;
            while (!(man & 0x400)) {
                man <<= 1;
                exp--;
            }
            man &= 0x3ff;
            bits = sign | (exp << 23) | (man << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

void st_read_f32(const st_file *f, const st_tensor *t, float *out) {
    const unsigned char *p = f->bytes + f->data_start + t->begin;
    for (size_t i = 0; i < t->numel; i++) {
        switch (t->dtype) {
        case ST_F32: memcpy(&out[i], p + 4 * i, 4); break;
        case ST_F16: {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            out[i] = half_to_float(h);
            break;
        }
        case ST_BF16: {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            uint32_t bits = (uint32_t)h << 16;
            memcpy(&out[i], &bits, 4);
            break;
        }
        case ST_F64: {
            double d;
            memcpy(&d, p + 8 * i, 8);
            out[i] = (float)d;
            break;
        }
        case ST_I64: {
            int64_t v;
            memcpy(&v, p + 8 * i, 8);
            out[i] = (float)v;
            break;
        }
        case ST_I32: {
            int32_t v;
            memcpy(&v, p + 4 * i, 4);
            out[i] = (float)v;
            break;
        }
        case ST_U8: case ST_BOOL: out[i] = p[i]; break;
        }
    }
}

int st_read_i64(const st_file *f, const st_tensor *t, int64_t *out, amod_error *err) {
    const unsigned char *p = f->bytes + f->data_start + t->begin;
    if (t->dtype != ST_I64 && t->dtype != ST_I32)
        return amod_fail(err, "%s: tensor '%s' has dtype %s, expected I64 or I32", f->path, t->name,
                         st_dtype_name(t->dtype));
    for (size_t i = 0; i < t->numel; i++) {
        if (t->dtype == ST_I64) {
            memcpy(&out[i], p + 8 * i, 8);
        } else {
            int32_t v;
            memcpy(&v, p + 4 * i, 4);
            out[i] = v;
        }
    }
    return 0;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (used < n) snprintf(buf + used, n - used, "]");
}

const st_tensor *st_expect(const st_file *f, const char *name, int ndim, const int64_t *shape,
                           amod_error *err) {
    const st_tensor *t = st_find(f, name);
    if (!t) {
        amod_fail(err, "%s: missing tensor '%s'", f->path, name);
        return NULL;
    }
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == shape[i];
    if (!ok) {
        char want[128], got[128];
        shape_str(want, sizeof want, ndim, shape);
        shape_str(got, sizeof got, t->ndim, t->shape);
        amod_fail(err, "%s: tensor '%s' has shape %s, expected %s", f->path, name, got, want);
        return NULL;
    }
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16 && t->dtype != ST_F64) {
        amod_fail(err, "%s: tensor '%s' has dtype %s, expected a floating type", f->path, name,
                  st_dtype_name(t->dtype));
        return NULL;
    }
    return t;
}

/* ---- writer ---- */

int st_writer_add(st_writer *w, const char *name, st_dtype dtype, int ndim, const int64_t *shape,
                  const void *data, amod_error *err) {
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 64;
        st_entry *e = realloc(w->e, (size_t)cap * sizeof *e);
        if (!e) return amod_fail(err, "out of memory");
        w->e = e;
        w->cap = cap;
    }
    st_entry *e = &w->e[w->n];
    memset(e, 0, sizeof *e);
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        e->shape[i] = shape[i];
        numel *= (size_t)shape[i];
    }
    e->ndim = ndim;
    e->dtype = dtype;
    e->bytes = numel * dtype_size(dtype);
    e->name = strdup(name);
    e->data = malloc(e->bytes ? e->bytes : 1);
    if (!e->name || !e->data) {
        free(e->name);
        free(e->data);
        return amod_fail(err, "out of memory");
    }
    memcpy(e->data, data, e->bytes);
    w->n++;
    return 0;
}

int st_writer_add_f32(st_writer *w, const char *name, int ndim, const int64_t *shape,
                      const float *data, amod_error *err) {
    return st_writer_add(w, name, ST_F32, ndim, shape, data, err);
}

int st_writer_set_metadata(st_writer *w, const char *key, const char *value, amod_error *err) {
    free(w->meta_key);
    free(w->meta_value);
    w->meta_key = strdup(key);
    w->meta_value = strdup(value);
    if (!w->meta_key || !w->meta_value) return amod_fail_code(err, AMOD_ERR_NOMEM, "out of memory");
    return 0;
}

int st_writer_save(const st_writer *w, const char *path, amod_error *err) {
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
    cJSON_AddStringToObject(meta, "format", "pt");
    if (w->meta_key) cJSON_AddStringToObject(meta, w->meta_key, w->meta_value);
    size_t off = 0;
    for (int i = 0; i < w->n; i++) {
        const st_entry *e = &w->e[i];
        cJSON *t = cJSON_AddObjectToObject(root, e->name);
        cJSON_AddStringToObject(t, "dtype", st_dtype_name(e->dtype));
        cJSON *shape = cJSON_AddArrayToObject(t, "shape");
        for (int d = 0; d < e->ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)e->shape[d]));
        cJSON *offs = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(off + e->bytes)));
        off += e->bytes;
    }
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json) return amod_fail(err, "out of memory");
    size_t hlen = strlen(json);
    size_t pad = (8 - hlen % 8) % 8; /* keep the data 8-byte aligned, as the reference writer does */
    size_t total = 8 + hlen + pad + off;
    unsigned char *buf = malloc(total);
    if (!buf) {
        free(json);
        return amod_fail(err, "out of memory");
    }
    uint64_t h = hlen + pad;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(h >> (8 * i));
    memcpy(buf + 8, json, hlen);
    memset(buf + 8 + hlen, ' ', pad);
    free(json);
    unsigned char *p = buf + 8 + hlen + pad;
    for (int i = 0; i < w->n; i++) {
        memcpy(p, w->e[i].data, w->e[i].bytes);
        p += w->e[i].bytes;
    }
    int rc = amod_write_file_atomic(path, buf, total, err);
    free(buf);
    return rc;
}

void st_writer_free(st_writer *w) {
    for (int i = 0; i < w->n; i++) {
        free(w->e[i].name);
        free(w->e[i].data);
    }
    free(w->e);
    free(w->meta_key);
    free(w->meta_value);
    memset(w, 0, sizeof *w);
}
