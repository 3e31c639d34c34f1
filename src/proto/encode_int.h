/*
 * encode internals: the frame writer of encode.c (one pass with
 * proto/jsonw), shared with the protocol 1.1 encoders of encode_manage.c.
 * Not for use outside src/proto.
 */
#ifndef CHATD_ENCODE_INT_H
#define CHATD_ENCODE_INT_H

#include <stdbool.h>

#include "proto/encode.h"
#include "proto/jsonw.h"

/* Starts a frame {"type":type; enc__finish ends it (counted) into a payload. */
jsonw *enc__begin(const char *type);
rcbuf *enc__finish(jsonw *w);
/* "key": a string (NULL: null), an integer, a boolean, an ISO time. */
void enc__kstr(jsonw *w, const char *key, const char *s);
void enc__kint(jsonw *w, const char *key, int64_t v);
void enc__kbool(jsonw *w, const char *key, bool v);
void enc__ktime(jsonw *w, const char *key, int64_t ms);
/* "key":[Message...] */
void enc__kmessages(jsonw *w, const char *key, const proto_msg *msgs, size_t n);

#endif
