/* err: names of the error codes (see err.h). */
#include "core/err.h"

const char *chatd_strerror(int code) {
    switch (code) {
    case CHATD_OK:
        return "no error";
    case CHATD_EINVAL:
        return "invalid input";
    case CHATD_EINCOMPLETE:
        return "need more bytes";
    case CHATD_ETOOBIG:
        return "too large";
    case CHATD_ENOMEM:
        return "out of memory";
    case CHATD_EIO:
        return "input/output error";
    case CHATD_ENOTFOUND:
        return "not found";
    case CHATD_EEXIST:
        return "already exists";
    case CHATD_EDUP:
        return "duplicate";
    case CHATD_ESTALE:
        return "stale";
    case CHATD_ECLOSED:
        return "closed";
    case CHATD_EAUTH:
        return "authentication failed";
    case CHATD_EMISSING:
        return "missing";
    case CHATD_EEXPIRED:
        return "expired";
    case CHATD_EUTF8:
        return "invalid UTF-8";
    case CHATD_EFULL:
        return "full";
    case CHATD_EBUSY:
        return "busy";
    case CHATD_ETIMEDOUT:
        return "timed out";
    case CHATD_EACCES:
        return "access refused";
    case CHATD_ENOTCONN:
        return "not connected";
    default:
        return "unknown error";
    }
}
