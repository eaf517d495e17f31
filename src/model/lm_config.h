/* config.json of Hugging Face causal LMs (GPT2LMHeadModel, LlamaForCausalLM), plus the
 * "amod" object amod's own checkpoints add with their MoD / MindSkip routing. */
#ifndef AMOD_MODEL_LM_CONFIG_H
#define AMOD_MODEL_LM_CONFIG_H

#include "amod/lm.h"

/* Routing settings stored in an "amod" object (absent in Hugging Face files). */
typedef struct {
    amod_mod_config mod;      /* router NONE when absent */
    int predictor_hidden;
    float predictor_threshold[AMOD_MAX_LAYERS]; /* per layer; 0 when absent */
    amod_lm_mindskip skip;    /* mode NONE when absent */
} lm_routing;

/* routing may be NULL. Unknown architectures and options amod does not implement (another
 * activation, rope scaling, ...) are refused with a message naming the file and the key. */
int lm_config_load(const char *path, amod_lm_config *cfg, lm_routing *routing, amod_error *err);
/* Writes a Hugging Face style config.json (with the "amod" object when routed), atomically. */
int lm_config_save(const char *path, const amod_lm_config *cfg, const lm_routing *routing, amod_error *err);

#endif
