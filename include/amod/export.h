/* AMOD_API marks the functions of the public API: the only symbols the shared library
 * exports (it is built with -fvisibility=hidden, so the kernels' and the model internals'
 * names, linear_forward or rng_seed, cannot collide with a program's own). */
#ifndef AMOD_EXPORT_H
#define AMOD_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define AMOD_API __attribute__((visibility("default")))
#else
#define AMOD_API
#endif

#endif
