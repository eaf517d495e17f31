/* Routing checks shared by the ViT and the language models: one validator for both. */
#ifndef AMOD_MODEL_MOD_CONFIG_H
#define AMOD_MODEL_MOD_CONFIG_H

#include "amod/amod.h"

/* The MoD settings against a model of `depth` layers: a known router, capacity in (0, 1], MoD
 * layers inside the model, and for the attention router a dense previous layer; not_dense
 * (may be NULL) marks layers that cannot serve as one (the LM's MindSkip-routed layers). */
int mod_check_routing(const amod_mod_config *mod, int depth, const unsigned char *not_dense, amod_error *err);

#endif
