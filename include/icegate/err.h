/* Error codes shared by every IceGate module.
 *
 * Functions return 0 on success or one of the negative codes below; ig_strerror()
 * gives a fixed English text for a code. There is no global error state: a function
 * that needs to tell more (which field, which value) takes a caller-provided
 * message buffer (see ig_errbuf). */
#ifndef ICEGATE_ERR_H
#define ICEGATE_ERR_H

#include <stddef.h>

enum {
    IG_OK = 0,
    IG_ENOMEM = -1,       /* allocation failed or a cap was reached while allocating */
    IG_EINVAL = -2,       /* invalid argument or input */
    IG_ERANGE = -3,       /* value out of range */
    IG_EIO = -4,          /* I/O error from the OS or a remote store */
    IG_ENOENT = -5,       /* object, key or file not found */
    IG_EEXIST = -6,       /* already exists (put-if-absent, create) */
    IG_ETOOBIG = -7,      /* a capped buffer or limit would be exceeded */
    IG_EAGAIN = -8,       /* back-pressure: try again later */
    IG_ECORRUPT = -9,     /* stored or received data is malformed */
    IG_EUNSUPPORTED = -10, /* valid but not supported by this implementation */
    IG_ETIMEDOUT = -11,   /* deadline passed */
    IG_ECANCELED = -12,   /* caller went away or the operation was cancelled */
    IG_ECONFLICT = -13,   /* optimistic concurrency conflict (CAS lost) */
    IG_EPERM = -14,       /* not allowed (auth, quota) */
    IG_EINTERNAL = -15,   /* broken invariant: a bug */
    IG_ERR_MIN_ = -16
};

/* Fixed text for an error code; never NULL. */
const char *ig_strerror(int code);

/* A caller-owned buffer for a precise error message (which field, which value). */
typedef struct ig_errbuf {
    char msg[256];
} ig_errbuf;

/* Formats into eb (if not NULL) and returns code, so callers can write
 * `return ig_err(eb, IG_EINVAL, "field %s: ...", name);`. */
int ig_err(ig_errbuf *eb, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
