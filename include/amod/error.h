/* amod's error report, on its own so that every layer (and an embedding program) can use it
 * without the model API: one printable line naming the file or option at fault, and a status
 * code for programs that act on the kind of failure. Calls that can fail return 0, or -1 with
 * both filled in. */
#ifndef AMOD_ERROR_H
#define AMOD_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum amod_status {
    AMOD_OK = 0,
    AMOD_ERR_INVALID = 1, /* a bad argument, option, shape, value or file content */
    AMOD_ERR_IO = 2,      /* a file or directory could not be opened, read, written, renamed or made */
    AMOD_ERR_NOMEM = 3,   /* an allocation failed */
    AMOD_ERR_BUSY = 4     /* a run directory is in use by another command */
} amod_status;

typedef struct amod_error {
    char msg[1024];   /* longer messages keep their start and their end, "..." between */
    amod_status code; /* AMOD_ERR_INVALID unless the failure says otherwise */
} amod_error;

#ifdef __cplusplus
}
#endif

#endif
