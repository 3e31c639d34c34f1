/*
 * err: chatd's one error convention. A function that can fail returns 0
 * (or a count, or a length) on success and a negative CHATD_E* code on
 * failure; a call that fails never runs its callback. Every module's error
 * names (STORE_E*, RECORD_E*, WS_*, TOKEN_E*, HASHQ_E*, …) are aliases of
 * these codes, so one integer means one thing everywhere: -2 is always
 * "need more bytes", never also "username taken". Predicates ("is this a
 * valid username?") return bool instead, so a 1 is never a success code.
 */
#ifndef CHATD_ERR_H
#define CHATD_ERR_H

enum {
    CHATD_OK = 0,
    CHATD_EINVAL = -1,      /* malformed input, a protocol violation */
    CHATD_EINCOMPLETE = -2, /* a parser needs more bytes */
    CHATD_ETOOBIG = -3,     /* over a size cap */
    CHATD_ENOMEM = -4,      /* out of memory (where the caller can recover) */
    CHATD_EIO = -5,         /* an engine failed (disk, connection): retry later */
    CHATD_ENOTFOUND = -6,   /* no such user, channel, message, key */
    CHATD_EEXIST = -7,      /* already taken */
    CHATD_EDUP = -8,        /* a repeated client_msg_id: the original stands */
    CHATD_ESTALE = -9,      /* behind newer state: retry with fresher input */
    CHATD_ECLOSED = -10,    /* submitted after shutdown began */
    CHATD_EAUTH = -11,      /* a signature or mac does not verify */
    CHATD_EMISSING = -12,   /* a required credential is absent */
    CHATD_EEXPIRED = -13,   /* a credential is past its time */
    CHATD_EUTF8 = -14,      /* text that is not valid UTF-8 */
    CHATD_EFULL = -15,      /* a bounded queue is full */
    CHATD_EBUSY = -16,      /* a per-client share of something is used up */
    CHATD_ETIMEDOUT = -17,  /* no answer before the deadline */
    CHATD_EACCES = -18,     /* refused: wrong or missing credentials for an engine */
    CHATD_ENOTCONN = -19,   /* the engine link is down right now */
};

/* A short English phrase for a CHATD_E* code ("need more bytes"). */
const char *chatd_strerror(int code);

#endif
