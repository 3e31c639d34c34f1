/*
 * app_v11: what the `chat` client does with the frames of protocol 1.1
 * (PROTOCOL.md §6): changes to messages (message_updated, message_deleted,
 * reaction), typing, and the replies to /thread, /search and the channel
 * directory. See app.h for the rules; app.c routes every frame type it
 * does not know here, and whatever is unknown here too is ignored, so a
 * newer server's frames never disturb this client.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/app_internal.h"
#include "cli/fmt.h"
#include "cli/render.h"

#define TYPING_DEFAULT_MS 6000
#define TYPING_MAX_MS 30000 /* a server's expires_ms is capped: the prompt must clear */

int cli__is_change(const char *type) {
    return strcmp(type, "message_updated") == 0 || strcmp(type, "message_deleted") == 0 ||
           strcmp(type, "reaction") == 0;
}

static cli_msg *entry_of(cli_app *a, cli_channel *c, json_t *f) {
    return cli_msgs_by_id(&a->msgs, c->id, cli_state_msg_id(cli__sget(f, "message_id")));
}

static void on_updated(cli_app *a, cli_channel *c, json_t *f) {
    if (json_is_true(json_object_get(f, "deleted"))) return; /* its deletion follows */
    cli_msg *e = entry_of(a, c, f);
    if (e) {
        if (!cli_msgs_edit(e, cli__sget(f, "content"), cli__sget(f, "edited_at")))
            return; /* seen already */
    } else {
        /* a message not on screen: shown as it now is, with a handle */
        json_t *m =
            json_pack("{s:s, s:s, s:s, s:O*}", "message_id", cli__sget(f, "message_id"), "user_id",
                      cli__sget(f, "user_id"), "content", cli__sget(f, "content"), "edited_at",
                      json_object_get(f, "edited_at"));
        if (!json_object_get(m, "edited_at"))
            json_object_set_new(m, "edited_at", json_string("")); /* edited all the same */
        e = cli_msgs_put(&a->msgs, c->id, m);
        json_decref(m);
        if (!e) return;
    }
    if (cli__interactive(a)) cli__show_entry(a, c, e);
}

static void on_deleted(cli_app *a, cli_channel *c, json_t *f) {
    cli_msg *e = entry_of(a, c, f);
    if (e && !cli_msgs_delete(e)) return;
    if (!cli__interactive(a)) return;
    const char *by = cli__sget(f, "deleted_by");
    if (!e)
        render_event(cli_state_display(c), 0, "%s deleted a message", by);
    else if (strcmp(by, e->author) == 0)
        render_event(cli_state_display(c), e->handle, "%s deleted their message", by);
    else
        render_event(cli_state_display(c), e->handle, "%s deleted a message by %s", by, e->author);
}

static void on_reaction(cli_app *a, cli_channel *c, json_t *f) {
    int add = strcmp(cli__sget(f, "op"), "remove") != 0;
    const char *user = cli__sget(f, "user_id"), *emoji = cli__sget(f, "emoji");
    cli_msg *e = entry_of(a, c, f);
    json_t *seq = json_object_get(f, "seq");
    uint64_t n =
        json_is_integer(seq) && json_integer_value(seq) > 0 ? (uint64_t)json_integer_value(seq) : 0;
    if (e && !cli_msgs_react(e, emoji, user, add, n)) return; /* seen already, or stale */
    if (!cli__interactive(a)) return;
    if (!e) {
        render_event(cli_state_display(c), 0, "%s %s %s %s a message", user,
                     add ? "reacted" : "removed", emoji, add ? "to" : "from");
        return;
    }
    char *sum = fmt_reactions(e->reactions);
    char *snip = fmt_snippet(e->text, 30);
    render_event(cli_state_display(c), e->handle, "%s %s %s (%s: %s)  [%s]", user,
                 add ? "reacted" : "removed", emoji, e->author, snip, sum ? sum : "no reactions");
    free(snip);
    free(sum);
}

void cli__on_change(cli_app *a, cli_channel *c, json_t *f) {
    const char *type = cli__sget(f, "type");
    cli__note_seq(c, f);
    if (strcmp(type, "message_updated") == 0)
        on_updated(a, c, f);
    else if (strcmp(type, "message_deleted") == 0)
        on_deleted(a, c, f);
    else if (strcmp(type, "reaction") == 0)
        on_reaction(a, c, f);
}

void cli__on_notice(cli_app *a, cli_channel *c, json_t *m) {
    json_t *md = json_object_get(m, "metadata");
    if (strcmp(cli__sget(md, "event"), "channel_updated") != 0) return;
    json_t *topic = json_object_get(md, "topic");
    cli_state_rename(c, json_string_value(json_object_get(md, "name")),
                     json_is_string(topic) ? json_string_value(topic) : NULL);
    if (cli__interactive(a) && strcmp(c->id, a->current) == 0) cli__update_prompt(a);
}

/* ---- typing ---- */

void cli__typing_clear(cli_app *a, const char *channel, const char *user) {
    for (size_t i = 0; i < a->n_typing; i++) {
        if (strcmp(a->typing[i].channel, channel) != 0 || strcmp(a->typing[i].user, user) != 0)
            continue;
        a->typing[i] = a->typing[--a->n_typing];
        if (cli__interactive(a) && strcmp(channel, a->current) == 0) cli__update_prompt(a);
        return;
    }
}

static void on_typing(cli_app *a, json_t *f) {
    const char *ch = cli__sget(f, "channel_id"), *user = cli__sget(f, "user_id");
    if (!*ch || !*user || strcmp(user, a->ss.user) == 0 || !cli__interactive(a)) return;
    if (strlen(ch) >= sizeof a->typing[0].channel || strlen(user) >= sizeof a->typing[0].user)
        return;
    json_t *exp = json_object_get(f, "expires_ms");
    int64_t ms = json_is_integer(exp) ? json_integer_value(exp) : TYPING_DEFAULT_MS;
    if (ms <= 0 || ms > TYPING_MAX_MS) ms = ms <= 0 ? TYPING_DEFAULT_MS : TYPING_MAX_MS;
    int64_t until = cli_session_now_ms() + ms;
    size_t i = 0;
    while (i < a->n_typing &&
           !(strcmp(a->typing[i].channel, ch) == 0 && strcmp(a->typing[i].user, user) == 0))
        i++;
    int fresh = i == a->n_typing;
    if (fresh && a->n_typing == APP_TYPING_MAX) { /* full: replace the one ending soonest */
        i = 0;
        for (size_t j = 1; j < a->n_typing; j++)
            if (a->typing[j].until_ms < a->typing[i].until_ms) i = j;
    } else if (fresh) {
        a->n_typing++;
    }
    snprintf(a->typing[i].channel, sizeof a->typing[i].channel, "%s", ch);
    snprintf(a->typing[i].user, sizeof a->typing[i].user, "%s", user);
    a->typing[i].until_ms = until;
    if (fresh && strcmp(ch, a->current) == 0) cli__update_prompt(a);
}

int64_t cli_app_next_timer(const cli_app *a) {
    int64_t next = 0;
    for (size_t i = 0; i < a->n_typing; i++)
        if (!next || a->typing[i].until_ms < next) next = a->typing[i].until_ms;
    return next;
}

void cli_app_tick(cli_app *a) {
    int64_t now = cli_session_now_ms();
    int changed = 0;
    for (size_t i = 0; i < a->n_typing;) {
        if (a->typing[i].until_ms > now) {
            i++;
            continue;
        }
        changed |= strcmp(a->typing[i].channel, a->current) == 0;
        a->typing[i] = a->typing[--a->n_typing];
    }
    if (changed && cli__interactive(a)) cli__update_prompt(a);
}

void cli_app_on_typed(cli_app *a, const char *text) {
    if (a->no_typing || !a->current[0] || !*text || !cli_session_connected(&a->ss)) return;
    if (text[0] == '/' && text[1] != '/') return; /* a command is not a message */
    int64_t now = cli_session_now_ms();
    if (strcmp(a->typing_chan, a->current) == 0 && now < a->typing_next_ms) return;
    json_t *f = json_pack("{s:s, s:s}", "type", "typing", "channelId", a->current);
    if (cli_session_send(&a->ss, 0, f) == 0) {
        snprintf(a->typing_chan, sizeof a->typing_chan, "%s", a->current);
        a->typing_next_ms = now + APP_TYPING_EVERY;
    }
    json_decref(f);
}

/* ---- replies to /thread, /search, /channels all ---- */

int cli_app_request_paged(cli_app *a, app_paged kind, json_t *f) {
    if (cli_app_request(a, f) != 0) return -1;
    a->awaiting = 1;
    json_decref(a->paged[kind]);
    a->paged[kind] = json_incref(f);
    return 0;
}

/* The answer to paged request kind came: with has_more, /more will send
 * the same request with cursor key = value; without, /more has nothing. */
static void set_more(cli_app *a, app_paged kind, json_t *answer, const char *key,
                     const char *value) {
    json_decref(a->more);
    a->more = NULL;
    if (!a->paged[kind] || !*value || !json_is_true(json_object_get(answer, "has_more"))) return;
    a->more = json_deep_copy(a->paged[kind]);
    json_object_set_new(a->more, key, json_string(value));
    render_info("-- more: /more --");
}

static void on_thread(cli_app *a, json_t *f) {
    cli_channel *c = cli_state_find(&a->st, cli__sget(f, "channel_id"));
    json_t *root = json_object_get(f, "root"), *replies = json_object_get(f, "replies");
    a->awaiting = 0;
    if (!c || !json_is_object(root) || !cli__interactive(a)) return;
    size_t n = json_array_size(replies), i;
    json_t *m;
    const char *last = "";
    int first_page = !json_object_get(a->paged[APP_PAGED_THREAD], "after");
    render_info("-- thread in %s: %zu %srepl%s --", cli_state_display(c), n,
                first_page ? "" : "more ", n == 1 ? "y" : "ies");
    if (first_page) cli__show(a, c, root, 0);
    json_array_foreach(replies, i, m) {
        cli__show(a, c, m, 0);
        last = cli__sget(m, "message_id");
    }
    if (json_is_true(json_object_get(f, "has_more")))
        set_more(a, APP_PAGED_THREAD, f, "after", last);
    else
        render_info("-- end of thread; /reply <#> <text> answers in it --");
}

static void on_search(cli_app *a, json_t *f) {
    json_t *msgs = json_object_get(f, "messages");
    size_t n = json_array_size(msgs), i;
    json_t *m;
    const char *oldest = "";
    a->awaiting = 0;
    if (!cli__interactive(a)) return;
    render_info("-- %zu result%s for %s, newest first --", n, n == 1 ? "" : "s",
                cli__sget(f, "query"));
    json_array_foreach(msgs, i, m) {
        cli_channel *c = cli_state_find(&a->st, cli__sget(m, "channel_id"));
        oldest = cli__sget(m, "message_id");
        if (c) cli__show(a, c, m, 0);
    }
    if (json_is_true(json_object_get(f, "has_more")))
        set_more(a, APP_PAGED_SEARCH, f, "before", oldest);
    else
        render_info("-- end of results --");
}

static void on_directory(cli_app *a, json_t *f) {
    json_t *chans = json_object_get(f, "channels");
    size_t n = json_array_size(chans), i;
    json_t *e;
    a->awaiting = 0;
    if (a->directory && json_object_get(a->paged[APP_PAGED_DIRECTORY], "after"))
        json_array_extend(a->directory, chans); /* a next page: /join knows both */
    else {
        json_decref(a->directory);
        a->directory = json_deep_copy(chans);
    }
    if (!cli__interactive(a)) return;
    if (n == 0) {
        render_info("No public channels found.");
        return;
    }
    const char *last = "";
    render_info("Public channels (%zu):", n);
    json_array_foreach(chans, i, e) {
        last = cli__sget(e, "channel_id");
        const char *topic = cli__sget(e, "topic");
        render_info("  %-24s %4lld members  %-8s %.8s%s%s", cli__sget(e, "name"),
                    (long long)json_integer_value(json_object_get(e, "member_count")),
                    json_is_true(json_object_get(e, "is_member")) ? "(joined)" : "",
                    cli__sget(e, "channel_id"), *topic ? "  topic: " : "", topic);
    }
    render_info("/join <name> joins one.");
    set_more(a, APP_PAGED_DIRECTORY, f, "after", last);
}

void cli__name_from_directory(cli_app *a, cli_channel *c) {
    size_t i;
    json_t *e;
    if (c->name && *c->name) return;
    json_array_foreach(a->directory, i, e) {
        if (strcmp(cli__sget(e, "channel_id"), c->id) != 0) continue;
        cli_state_rename(c, cli__sget(e, "name"), cli__sget(e, "topic"));
        return;
    }
}

int cli__on_v11_frame(cli_app *a, const char *type, json_t *f) {
    if (cli__is_change(type)) {
        const char *id = cli__sget(f, "channel_id");
        cli_channel *c = *id ? cli_state_find(&a->st, id) : NULL;
        if (!c) return 1;
        if (c->recovering)
            json_array_append(c->held, f); /* applied after what was missed */
        else
            cli__on_change(a, c, f);
    } else if (strcmp(type, "typing") == 0) {
        on_typing(a, f);
    } else if (strcmp(type, "thread") == 0) {
        on_thread(a, f);
    } else if (strcmp(type, "search_results") == 0) {
        on_search(a, f);
    } else if (strcmp(type, "channel_directory") == 0) {
        on_directory(a, f);
    } else {
        return 0;
    }
    return 1;
}

int cli__v11_error(cli_app *a, json_t *f) {
    const char *rt = cli__sget(f, "request_type");
    int unknown = strcmp(cli__sget(f, "code"), "unknown_type") == 0;
    if (strcmp(rt, "typing") == 0) {
        if (unknown) a->no_typing = 1; /* an old server: stop sending them */
        return 1;                      /* never worth disturbing the user */
    }
    if (strcmp(rt, "fetch_changes") != 0) return 0;
    if (unknown) a->no_changes = 1;
    /* recover the pending ones by their message cursor instead */
    for (size_t i = 0; i < a->st.n_ch; i++) {
        cli_channel *c = a->st.ch[i];
        if (!c->recovering || !c->via_changes) continue;
        c->recovering = 0;
        c->via_changes = 0;
        uint64_t seq = c->seq;
        c->seq = 0; /* forces fetch_history */
        cli__fetch_recovery(a, c, 100);
        c->seq = seq;
        if (!a->no_changes) break; /* another error: only the oldest request failed */
    }
    return 1;
}
