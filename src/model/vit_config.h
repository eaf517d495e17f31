/* config.json for ViT checkpoints: timm's (architecture + model_args + pretrained_cfg) and
 * Hugging Face's ViTForImageClassification. amod's own checkpoints add a "mod" object. */
#ifndef AMOD_MODEL_VIT_CONFIG_H
#define AMOD_MODEL_VIT_CONFIG_H

#include <stddef.h>

#include "amod/amod.h"

/* mod may be NULL; when not, it receives the "mod" section (or a dense setting). */
int amod_config_load(const char *path, amod_vit_config *cfg, amod_mod_config *mod, amod_error *err);
/* The same from size bytes of JSON text in memory; name is what error messages call it. */
int amod_config_load_memory(const char *name, const char *text, size_t size, amod_vit_config *cfg,
                            amod_mod_config *mod, amod_error *err);
/* The class names of config.json: timm's "label_names" list or Hugging Face's "id2label" map;
 * *names NULL and *n 0 when the file has none. A list that does not name num_classes classes,
 * or a name that is not a string, fails naming the file. Free with amod_labels_free. */
int amod_config_load_labels(const char *path, int num_classes, char ***names, int *n, amod_error *err);
void amod_labels_free(char **names, int n);
/* Writes a timm-style config.json (with the MoD settings, and label_names when labels is not
 * NULL) atomically. */
int amod_config_save(const char *path, const amod_vit_config *cfg, const amod_mod_config *mod,
                     char *const *labels, int n_labels, amod_error *err);
/* "vit" for ViT checkpoints, "gpt2"/"llama" for language models, NULL on error. */
const char *amod_config_model_family(const char *path, amod_error *err);

#endif
