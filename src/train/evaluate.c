#include "train/evaluate.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"

void amod_model_batch_config(const amod_vit_config *cfg, const amod_dataset *ds, amod_batch_config *bc) {
    amod_batch_config_default(bc, ds);
    bc->channels = cfg->in_chans;
    bc->height = bc->width = cfg->img_size;
    bc->resize = AMOD_RESIZE_BILINEAR;
    for (int c = 0; c < AMOD_DATA_MAX_CHANNELS; c++) {
        bc->mean[c] = cfg->mean[c < 3 ? c : 2];
        bc->std[c] = cfg->std[c < 3 ? c : 2];
    }
}

static int evaluate(amod_vit_ctx *ctx, const amod_dataset *ds, int batch, amod_eval_result *out, int64_t *confusion,
                    amod_error *err);

int amod_evaluate_confusion(amod_vit *m, const amod_dataset *ds, int batch, amod_eval_result *out, int64_t *confusion,
                            amod_error *err) {
    amod_vit_ctx *c = amod_vit_ctx_create(m, NULL, err); /* inference: no gradients, no maps */
    int rc = c ? evaluate(c, ds, batch, out, confusion, err) : -1;
    amod_vit_ctx_free(c);
    return rc;
}

int amod_evaluate(amod_vit *m, const amod_dataset *ds, int batch, amod_eval_result *out, amod_error *err) {
    return amod_evaluate_confusion(m, ds, batch, out, NULL, err);
}

int amod_evaluate_ctx(amod_vit_ctx *ctx, const amod_dataset *ds, int batch, amod_eval_result *out, amod_error *err) {
    return evaluate(ctx, ds, batch, out, NULL, err);
}

static int evaluate(amod_vit_ctx *ctx, const amod_dataset *ds, int batch, amod_eval_result *out, int64_t *confusion,
                    amod_error *err) {
    const amod_vit_config *cfg = amod_vit_get_config(amod_vit_ctx_model(ctx));
    memset(out, 0, sizeof *out);
    if (confusion) memset(confusion, 0, (size_t)cfg->num_classes * cfg->num_classes * sizeof *confusion);
    if (batch < 1) return amod_fail(err, "evaluation batch size %d must be positive", batch);
    if (ds->num_classes > cfg->num_classes)
        return amod_fail(err, "the data set has %d classes, the model only %d", ds->num_classes, cfg->num_classes);
    if (cfg->in_chans > AMOD_DATA_MAX_CHANNELS)
        return amod_fail(err, "the model takes %d channels, the data loader makes at most %d", cfg->in_chans,
                         AMOD_DATA_MAX_CHANNELS);
    amod_batch_config bc;
    amod_model_batch_config(cfg, ds, &bc);
    amod_loader ld;
    if (amod_loader_init(&ld, ds, &bc, 0, err)) return -1;
    const int K = cfg->num_classes;
    size_t per = (size_t)bc.channels * bc.height * bc.width;
    float *images = amod_alloc((size_t)batch * per * sizeof *images, err);
    float *logits = amod_alloc((size_t)batch * K * sizeof *logits, err);
    int64_t *labels = amod_alloc((size_t)batch * sizeof *labels, err);
    int rc = images && logits && labels ? 0 : -1;
    double t0 = amod_seconds(), loss_sum = 0.0;
    while (!rc) {
        int n = amod_loader_next(&ld, batch, images, labels, err);
        if (n <= 0) {
            rc = n;
            break;
        }
        float loss;
        if (amod_vit_ctx_forward(ctx, images, n, labels, logits, &loss, err)) {
            rc = -1;
            break;
        }
        loss_sum += (double)loss * n;
        for (int b = 0; b < n; b++) {
            const float *z = logits + (size_t)b * K;
            int best = 0, above = 0; /* classes scoring above the label: top-5 when fewer than 5 */
            for (int k = 1; k < K; k++)
                if (z[k] > z[best]) best = k;
            for (int k = 0; k < K; k++) above += z[k] > z[labels[b]] || (z[k] == z[labels[b]] && k < labels[b]);
            out->correct += best == labels[b];
            out->correct5 += above < 5;
            if (confusion) confusion[labels[b] * K + best]++;
        }
        out->count += n;
    }
    if (!rc && out->count > 0) {
        out->accuracy = (double)out->correct / (double)out->count;
        out->accuracy5 = (double)out->correct5 / (double)out->count;
        out->loss = loss_sum / (double)out->count;
    }
    out->seconds = amod_seconds() - t0;
    free(images);
    free(logits);
    free(labels);
    amod_loader_free(&ld);
    return rc;
}
