/* gcc -O2 -I include gradsnap.c -L build -lamod -Wl,-rpath,build -o gradsnap && ./gradsnap OUT.bin; cmp two OUT.bin files (2026-12-04) */
/* bf16 gradients of a few models, raw floats to a file: the same bits before and after a refactor */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "amod/amod.h"
static void run(amod_vit *m, FILE *f, int B) {
  amod_error err; const amod_vit_config *c = amod_vit_get_config(m);
  size_t nx = (size_t)B * c->in_chans * c->img_size * c->img_size; float *x = malloc(nx * 4);
  unsigned long long s = 7; for (size_t i = 0; i < nx; i++) { s = s * 6364136223846793005ull + 1442695040888963407ull; x[i] = (float)((s >> 40) * (1.0 / 8388608.0)) - 1.0f; }
  int64_t y[64]; for (int b = 0; b < B; b++) y[b] = (b * 3) % c->num_classes;
  if (amod_vit_set_precision(m, AMOD_PRECISION_BF16, &err)) { printf("%s\n", err.msg); exit(1); }
  amod_vit_set_grad_enabled(m, 1);
  for (int step = 0; step < 2; step++) {
    amod_vit_zero_grad(m); float loss;
    if (amod_vit_forward(m, x, B, y, NULL, &loss, &err) || amod_vit_backward(m, &err)) { printf("%s\n", err.msg); exit(1); }
    fwrite(amod_vit_grads(m), 4, amod_vit_num_params(m), f); fwrite(&loss, 4, 1, f);
    printf("loss %.7f\n", loss); fflush(stdout);
  }
  free(x);
}
int main(int argc, char **argv) {
  amod_error err; if (amod_init(&err)) { printf("%s\n", err.msg); return 1; } FILE *f = fopen(argv[1], "wb");
  amod_vit *m = amod_vit_load("/work/main/tests/fixtures/vit_timm_tiny", &err); if (!m) { printf("%s\n", err.msg); return 1; }
  run(m, f, 4);
  for (int r = 0; r < 2; r++) {
    amod_mod_config mod = {0}; mod.router = r ? AMOD_ROUTER_LINEAR : AMOD_ROUTER_ATTENTION; mod.capacity = 0.5f;
    for (int l = 1; l < amod_vit_get_config(m)->depth; l += 2) mod.is_mod[l] = 1;
    if (amod_vit_set_mod(m, &mod, &err)) { printf("%s\n", err.msg); return 1; }
    run(m, f, 4);
  }
  amod_vit_free(m);
  amod_vit_config cfg; amod_vit_preset("deit_tiny_patch16_224", &cfg, &err);
  m = amod_vit_create(&cfg, 3, &err); run(m, f, 3); amod_vit_free(m);
  fclose(f); return 0;
}
