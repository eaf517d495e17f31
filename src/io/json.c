#include "io/json.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

cJSON *amod_json_read_object(const char *path, amod_error *err) {
    size_t size;
    unsigned char *text = amod_read_file(path, &size, err);
    if (!text) return NULL;
    cJSON *root = cJSON_ParseWithLength((const char *)text, size);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        amod_fail(err, "%s: not a JSON object", path);
        return NULL;
    }
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
