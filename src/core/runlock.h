/* One writer per directory: an advisory lock (flock) on DIR/.amod.lock, held for the whole
 * command and released by the kernel when the process ends however it ends. The file holds
 * the holder's pid, so that a second command can say who has the directory. */
#ifndef AMOD_CORE_RUNLOCK_H
#define AMOD_CORE_RUNLOCK_H

#include "amod/error.h"

typedef struct amod_run_lock {
    int fd; /* -1 when not held */
} amod_run_lock;

/* Creates DIR when missing and takes its lock without waiting: -1 with "DIR is in use by
 * another amod (pid N, COMMAND)" when someone else holds it. */
int amod_run_lock_take(amod_run_lock *lock, const char *dir, const char *what, amod_error *err);
void amod_run_lock_release(amod_run_lock *lock);
/* Releases the lock and removes the lock file and DIR itself when DIR holds nothing else: for
 * a command that made DIR and then failed before writing anything into it. */
void amod_run_lock_discard(amod_run_lock *lock, const char *dir);

#endif
