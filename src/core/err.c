#include <stdarg.h>
#include <stdio.h>

#include "icegate/err.h"

const char *ig_strerror(int code)
{
    switch (code) {
    case IG_OK: return "success";
    case IG_ENOMEM: return "out of memory";
    case IG_EINVAL: return "invalid argument";
    case IG_ERANGE: return "value out of range";
    case IG_EIO: return "input/output error";
    case IG_ENOENT: return "not found";
    case IG_EEXIST: return "already exists";
    case IG_ETOOBIG: return "size limit exceeded";
    case IG_EAGAIN: return "resource temporarily unavailable, try again";
    case IG_ECORRUPT: return "malformed data";
    case IG_EUNSUPPORTED: return "not supported";
    case IG_ETIMEDOUT: return "timed out";
    case IG_ECANCELED: return "cancelled";
    case IG_ECONFLICT: return "concurrent modification conflict";
    case IG_EPERM: return "permission denied";
    case IG_EINTERNAL: return "internal error";
    default: return "unknown error";
    }
}

int ig_err(ig_errbuf *eb, int code, const char *fmt, ...)
{
    if (eb) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}
