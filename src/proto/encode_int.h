/*
 * encode internals: the JSON builders of encode.c, shared with the
 * protocol 1.1 encoders in encode_manage.c. Not for use outside src/proto.
 */
#ifndef CHATD_ENCODE_INT_H
#define CHATD_ENCODE_INT_H

#include <jansson.h>

#include "proto/encode.h"

/* A JSON string (NULL: null; invalid UTF-8 bytes become '?'). */
json_t *enc__jstr(const char *s);
/* An ISO-8601 time string. */
json_t *enc__jtime(int64_t ms);
/* An array of Message objects. */
json_t *enc__jmessages(const proto_msg *msgs, size_t n);
/* A new object {"type": type}. */
json_t *enc__typed(const char *type);
/* Dumps obj once (counted) into a payload rcbuf and releases obj. */
rcbuf *enc__finish(json_t *obj);

#endif
