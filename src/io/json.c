#include "io/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

static int cmp_key(const void *a, const void *b) {
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* The first key that appears twice in one object, anywhere in the tree; NULL if none. *bad
 * is set when memory runs out. Sorting keeps a huge object from costing n^2 comparisons. */
static const char *duplicate_key(const cJSON *node, int *bad) {
    if (cJSON_IsObject(node)) {
        int n = cJSON_GetArraySize(node);
        const cJSON **keys = n > 1 ? malloc((size_t)n * sizeof *keys) : NULL;
        if (n > 1 && !keys) {
            *bad = 1;
            return NULL;
        }
        const char *dup = NULL;
        if (keys) {
            int i = 0;
            for (const cJSON *c = node->child; c; c = c->next) keys[i++] = c;
            qsort(keys, (size_t)n, sizeof *keys, cmp_key);
            for (i = 1; i < n && !dup; i++)
                if (!strcmp(keys[i]->string, keys[i - 1]->string)) dup = keys[i]->string;
            free(keys);
        }
        if (dup) return dup;
    }
    for (const cJSON *c = node->child; c; c = c->next) {
        const char *dup = duplicate_key(c, bad);
        if (dup || *bad) return dup;
    }
    return NULL;
}

cJSON *amod_json_parse_object(const char *name, const char *text, size_t size, amod_error *err) {
    cJSON *root = cJSON_ParseWithLength(text, size);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        amod_fail(err, "%s: not a JSON object", name);
        return NULL;
    }
    int bad = 0;
    const char *dup = duplicate_key(root, &bad);
    if (dup || bad) {
        if (bad) amod_fail(err, "%s: out of memory checking keys", name);
        else amod_fail(err, "%s: key '%s' appears twice in one object", name, dup);
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

cJSON *amod_json_read_object(const char *path, amod_error *err) {
    size_t size;
    unsigned char *text = amod_read_file(path, &size, err);
    if (!text) return NULL;
    cJSON *root = amod_json_parse_object(path, (const char *)text, size, err);
    free(text);
    return root;
}

int amod_json_write(const char *path, cJSON *root, amod_error *err) {
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return amod_fail(err, "%s: out of memory", path);
    int rc = amod_write_file_atomic(path, text, strlen(text), err);
    free(text);
    return rc;
}

void amod_json_add_float(cJSON *obj, const char *key, float v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.9g", (double)v);
    cJSON_AddNumberToObject(obj, key, strtod(buf, NULL));
}

void amod_json_add_hex64(cJSON *obj, const char *key, uint64_t v) {
    char buf[24];
    snprintf(buf, sizeof buf, "0x%016" PRIx64, v);
    cJSON_AddStringToObject(obj, key, buf);
}

int amod_json_hex64(const cJSON *v, uint64_t *out) {
    if (!cJSON_IsString(v) || strncmp(v->valuestring, "0x", 2)) return -1;
    const char *digits = v->valuestring + 2;
    if (!*digits || strlen(digits) > 16 || strspn(digits, "0123456789abcdefABCDEF") != strlen(digits)) return -1;
    *out = strtoull(digits, NULL, 16);
    return 0;
}

static const cJSON *field(const amod_json_fields *r, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->obj, key);
    if (!v) amod_fail(r->err, "%s: %s.%s is missing", r->path, r->section, key);
    return v;
}

int amod_json_field_num(const amod_json_fields *r, const char *key, double lo, double hi, double *out) {
    const cJSON *v = field(r, key);
    if (!v) return -1;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi)
        return amod_fail(r->err, "%s: %s.%s must be a number in [%g, %g]", r->path, r->section, key, lo, hi);
    *out = v->valuedouble;
    return 0;
}

int amod_json_field_i64(const amod_json_fields *r, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    double d = 0;
    if (amod_json_field_num(r, key, (double)lo, (double)hi, &d)) return -1;
    if (d != floor(d)) return amod_fail(r->err, "%s: %s.%s must be an integer", r->path, r->section, key);
    *out = (int64_t)d;
    return 0;
}

int amod_json_field_int(const amod_json_fields *r, const char *key, int lo, int hi, int *out) {
    int64_t v = 0;
    if (amod_json_field_i64(r, key, lo, hi, &v)) return -1;
    *out = (int)v;
    return 0;
}

int amod_json_field_float(const amod_json_fields *r, const char *key, double lo, double hi, float *out) {
    double d = 0;
    if (amod_json_field_num(r, key, lo, hi, &d)) return -1;
    *out = (float)d;
    return 0;
}

int amod_json_field_hex64(const amod_json_fields *r, const char *key, uint64_t *out) {
    const cJSON *v = field(r, key);
    if (!v) return -1;
    if (amod_json_hex64(v, out))
        return amod_fail(r->err, "%s: %s.%s must be a hex string \"0x...\"", r->path, r->section, key);
    return 0;
}

int amod_json_field_bool(const amod_json_fields *r, const char *key, int *out) {
    const cJSON *v = field(r, key);
    if (!v) return -1;
    if (!cJSON_IsBool(v)) return amod_fail(r->err, "%s: %s.%s must be true or false", r->path, r->section, key);
    *out = cJSON_IsTrue(v);
    return 0;
}

int amod_json_field_str(const amod_json_fields *r, const char *key, char *out, size_t cap) {
    const cJSON *v = field(r, key);
    if (!v) return -1;
    if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap)
        return amod_fail(r->err, "%s: %s.%s must be a string shorter than %zu bytes", r->path, r->section, key, cap);
    memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
    return 0;
}

