/* Wall-clock seconds for timing runs and steps: the monotonic clock, which jumps neither with
 * the date nor with NTP. */
#ifndef AMOD_CORE_CLOCK_H
#define AMOD_CORE_CLOCK_H

/* Seconds since an arbitrary fixed point; only differences mean anything. */
double amod_seconds(void);

#endif
