#include "train/progress.h"

#include <stdarg.h>
#include <unistd.h>

#include "core/clock.h"

void amod_progress_init(amod_progress *p, FILE *f, int every, int quiet) {
    p->f = f;
    p->tty = isatty(fileno(f));
    p->every = every > 0 ? every : 50;
    p->quiet = quiet;
    p->open = 0;
    p->last = 0.0;
}

void amod_format_duration(double s, char *out, size_t cap) {
    if (!(s >= 0) || s > 1e8) {
        snprintf(out, cap, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(out, cap, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60) snprintf(out, cap, "%ldm%02lds", t / 60, t % 60);
    else snprintf(out, cap, "%lds", t);
}

void amod_progress_step(amod_progress *p, const amod_progress_info *in) {
    if (p->quiet) return;
    double t = amod_seconds();
    int last = in->step == in->total_steps;
    /* A terminal gets at most ~5 redraws a second; a log a line every `every` steps. */
    if (p->tty ? (t - p->last < 0.2 && !last) : (in->step % p->every != 0 && !last)) return;
    p->last = t;
    char eta[32];
    amod_format_duration(in->eta_s, eta, sizeof eta);
    fprintf(p->f, "%sepoch %lld/%lld  step %lld/%lld  loss %.4f  lr %.2e  %.0f img/s  ETA %s%s",
            p->tty ? "\r" : "", (long long)in->epoch, (long long)in->epochs, (long long)in->step,
            (long long)in->total_steps, in->loss, in->lr, in->images_per_s, eta, p->tty ? "\033[K" : "\n");
    fflush(p->f);
    p->open = p->tty;
}

void amod_progress_end(amod_progress *p) {
    if (p->open) fputc('\n', p->f);
    p->open = 0;
}

void amod_progress_note(amod_progress *p, const char *fmt, ...) {
    if (p->quiet) return;
    amod_progress_end(p);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(p->f, fmt, ap);
    va_end(ap);
    fputc('\n', p->f);
    fflush(p->f);
}
