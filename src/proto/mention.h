/*
 * mention: finds the @name mentions in a message's text (PROTOCOL.md
 * section 6 "Mentions"). Pure and non-allocating, so it is unit-tested and
 * fuzzed on its own; whether a name is a member is the domain's question.
 *
 * The rule: an '@' at the start of the text or after a byte that is not
 * [A-Za-z0-9_.-]; the name is the longest run of [A-Za-z0-9_.-] after it,
 * less any trailing '.' or '-'. An empty name is no mention.
 */
#ifndef CHATD_PROTO_MENTION_H
#define CHATD_PROTO_MENTION_H

#include <stddef.h>

/* Finds the next mention in s[0..len) at or after *pos. Returns 1 with the
 * name at s[*name_off .. *name_off + *name_len) and *pos past it, or 0
 * when there is none (then *pos = len). Any bytes are accepted. */
int mention_next(const char *s, size_t len, size_t *pos, size_t *name_off, size_t *name_len);

#endif
