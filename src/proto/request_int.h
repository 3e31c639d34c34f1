/*
 * request internals: the field getters of request.c, shared with the
 * decoders of protocol 1.1 in request_manage.c. Not for use outside src/proto.
 * Each getter returns 0, or -1 after filling the context's error with a
 * sentence naming the key (PROTOCOL.md section 4).
 */
#ifndef CHATD_REQUEST_INT_H
#define CHATD_REQUEST_INT_H

#include "proto/request.h"

typedef struct flatjson flatjson; /* proto/flatjson.h */

/* The decoding context of request.c: the frame as jansson read it (root),
 * or as flatjson did (flat, for the frame types read flat; the protocol
 * 1.1 requests of request_manage.c are not among them: root is set). */
typedef struct proto__ctx {
    json_t *root;
    const flatjson *flat;
    const proto_limits *lim;
    proto_error *err;
} proto__ctx;

int proto__fail(proto_error *err, proto_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* JSON null or absent. */
int proto__is_absent(json_t *v);
/* A string without NUL; optional (opt) strings may be absent: *out NULL. */
int proto__get_str(proto__ctx *c, const char *key, int opt, const char **out, size_t *len);
/* "channelId", a UUID, lower-cased into out. */
int proto__get_channel_id(proto__ctx *c, char out[37]);
/* An optional decimal message id; 0 when absent. */
int proto__get_msg_id(proto__ctx *c, const char *key, uint64_t *out);
/* An array of usernames (de-duplicated, malloc'd, NULL when empty). */
int proto__get_user_list(proto__ctx *c, const char *key, int opt, size_t max, const char ***out,
                         size_t *n_out);
/* An optional integer `key` in lo..hi; *out = def when absent. */
int proto__get_limit(proto__ctx *c, const char *key, int lo, int hi, int def, int *out);

/* request_manage.c: the bodies of the protocol 1.1 requests it decodes. */
int proto__dec_manage(proto__ctx *c, request *r);
/* Releases what proto__dec_manage allocated. */
void proto__free_manage(request *r);

#endif
