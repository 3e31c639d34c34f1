/*
 * app: frame handling, recovery and the outbox. See app.h for the rules;
 * this file is a dispatch on the frame's "type".
 */
#define _GNU_SOURCE
#include "cli/app.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/render.h"
#include "core/uuid.h"

#define RECOVER_PAGE 100
#define JOIN_SHOW 10 /* messages of channel_joined's history shown as context */

void cli_app_init(cli_app *a, app_mode mode) {
    memset(a, 0, sizeof *a);
    a->mode = mode;
    cli_state_init(&a->st);
    a->outbox = json_array();
}

void cli_app_free(cli_app *a) {
    cli_session_free(&a->ss);
    cli_state_free(&a->st);
    json_decref(a->outbox);
    a->outbox = NULL;
}

static const char *sget(json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int interactive(const cli_app *a) {
    return a->mode == APP_INTERACTIVE;
}

static void update_prompt(cli_app *a) {
    char prompt[160];
    cli_channel *c = a->current[0] ? cli_state_find(&a->st, a->current) : NULL;
    if (c)
        snprintf(prompt, sizeof prompt, "%s> ", cli_state_display(c));
    else
        snprintf(prompt, sizeof prompt, "> ");
    render_set_prompt(prompt);
}

void cli_app_set_current(cli_app *a, const char *id) {
    snprintf(a->current, sizeof a->current, "%s", id ? id : "");
    if (interactive(a)) update_prompt(a);
}

int cli_app_request(cli_app *a, json_t *frame) {
    int rc = cli_session_send(&a->ss, 0, frame);
    if (rc != 0 && interactive(a)) render_error("not connected (reconnecting); try again shortly");
    return rc;
}

int cli_app_send_message(cli_app *a, const char *channel_id, const char *text) {
    char cmid[UUID_STR_LEN];
    uuid_v4(cmid);
    json_t *f = json_pack("{s:s, s:s, s:s, s:s}", "type", "chat_message", "channelId", channel_id,
                          "content", text, "client_msg_id", cmid);
    if (!f) return -1;
    json_array_append_new(a->outbox, f);
    if (cli_session_send(&a->ss, 0, f) != 0 && interactive(a))
        render_info("(offline: the message will be sent after reconnecting)");
    return 0;
}

/* Removes the outbox entry with this client_msg_id; 1 if there was one. */
static int outbox_ack(cli_app *a, const char *cmid) {
    size_t i;
    json_t *f;
    json_array_foreach(a->outbox, i, f) {
        if (strcmp(sget(f, "client_msg_id"), cmid) == 0) {
            json_array_remove(a->outbox, i);
            return 1;
        }
    }
    return 0;
}

static void outbox_resend(cli_app *a) {
    size_t i;
    json_t *f;
    json_array_foreach(a->outbox, i, f) cli_session_send(&a->ss, 0, f);
}

void cli_app_print_channels(cli_app *a) {
    if (a->st.n_ch == 0) {
        render_info("No channels yet: /create <name> [users...] or /dm <user>");
        return;
    }
    render_info("Channels (%zu):", a->st.n_ch);
    for (size_t i = 0; i < a->st.n_ch; i++) {
        cli_channel *c = a->st.ch[i];
        render_info("  %-24s %-6s %3ld unread  %.8s%s", cli_state_display(c),
                    c->is_direct ? "direct" : "group", c->unread, c->id,
                    strcmp(c->id, a->current) == 0 ? "  (current)" : "");
    }
}

/* ---- showing messages ---- */

/* Prints a Message frame as one JSON line (tail mode): the Message fields,
 * without "type". Returns -1 when stdout is gone. */
static int print_json_line(json_t *m) {
    json_t *copy = json_copy(m);
    json_object_del(copy, "type");
    char *s = json_dumps(copy, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(copy);
    if (!s) return 0;
    int ok = fputs(s, stdout) >= 0 && fputc('\n', stdout) != EOF && fflush(stdout) == 0;
    free(s);
    return ok ? 0 : -1;
}

static void show(cli_app *a, cli_channel *c, json_t *m, int hist) {
    const char *sender = sget(m, "user_id");
    if (a->mode == APP_TAIL) {
        if (strcmp(c->id, a->target_id) == 0 && print_json_line(m) != 0) a->quit = 1;
        return;
    }
    if (!interactive(a)) return;
    if (strcmp(sender, "system") == 0 || strcmp(sget(m, "type"), "system") == 0)
        render_system(cli_state_display(c), sget(m, "content"), hist);
    else
        render_msg(cli_state_display(c), sender, sget(m, "content"),
                   strcmp(sender, a->ss.user) == 0, hist);
}

/* Shows m unless its message_id was shown before; 1 if shown. */
static int show_once(cli_app *a, cli_channel *c, json_t *m, int hist) {
    if (cli_state_seen_add(c, cli_state_msg_id(sget(m, "message_id")))) return 0;
    show(a, c, m, hist);
    return 1;
}

static void advance(cli_channel *c, json_t *m) {
    uint64_t id = cli_state_msg_id(sget(m, "message_id"));
    if (id > c->cursor) c->cursor = id;
}

static void fetch_recovery(cli_app *a, cli_channel *c, int limit) {
    char after[24];
    json_t *f =
        json_pack("{s:s, s:s, s:i}", "type", "fetch_history", "channelId", c->id, "limit", limit);
    if (c->cursor) {
        snprintf(after, sizeof after, "%" PRIu64, c->cursor);
        json_object_set_new(f, "after", json_string(after));
    }
    if (cli_session_send(&a->ss, 0, f) == 0) {
        cli_state_hist_push(c, 0);
        c->recovering = 1;
    }
    json_decref(f);
}

static void end_recovery(cli_app *a, cli_channel *c) {
    size_t i;
    json_t *m;
    c->recovering = 0;
    json_array_foreach(c->held, i, m) {
        show_once(a, c, m, 0);
        advance(c, m);
    }
    json_array_clear(c->held);
}

/* A recovery page: show what was missed; page on while has_more. */
static void on_recovery_page(cli_app *a, cli_channel *c, json_t *frame) {
    json_t *msgs = json_object_get(frame, "messages");
    int had_cursor = c->cursor != 0;
    size_t i, n = json_array_size(msgs);
    json_t *m;
    json_array_foreach(msgs, i, m) {
        show_once(a, c, m, 0);
        advance(c, m);
    }
    if (had_cursor && n > 0 && json_is_true(json_object_get(frame, "has_more")))
        fetch_recovery(a, c, RECOVER_PAGE);
    else
        end_recovery(a, c);
}

/* ---- chat frames ---- */

static cli_channel *channel_of(cli_app *a, json_t *f, const char *key) {
    const char *id = sget(f, key);
    if (!*id) return NULL;
    return cli_state_add(&a->st, id, NULL, 0); /* known, or a placeholder until the next list */
}

static void on_message(cli_app *a, json_t *m) {
    cli_channel *c = channel_of(a, m, "channel_id");
    if (!c) return;
    const char *sender = sget(m, "user_id");
    const char *cmid = sget(m, "client_msg_id");
    int own = strcmp(sender, a->ss.user) == 0;
    if (own && *cmid && outbox_ack(a, cmid) && a->mode == APP_SEND) {
        a->quit = 1;
        a->exit_code = CLI_OK;
        return;
    }
    if (c->recovering) {
        json_array_append(c->held, m);
        return;
    }
    advance(c, m);
    if (show_once(a, c, m, 0) && !own && strcmp(c->id, a->current) != 0 &&
        strcmp(sender, "system") != 0)
        c->unread++;
}

static void on_list(cli_app *a, json_t *f) {
    int first = !a->have_list;
    cli_state_apply_list(&a->st, f);
    a->have_list = 1;
    if (a->current[0] && !cli_state_find(&a->st, a->current))
        cli_app_set_current(a, NULL);
    else if (interactive(a))
        update_prompt(a); /* a joined channel's name may only be known now */

    if (first && !a->connected_once) { /* the very first connection */
        a->connected_once = 1;
        if (interactive(a)) {
            cli_app_print_channels(a);
            render_info("Type /help for commands.");
        }
        if (a->mode != APP_INTERACTIVE) {
            int amb = 0;
            cli_channel *c = cli_state_resolve(&a->st, a->target_ref, &amb);
            if (!c) {
                fprintf(stderr, "chat: channel '%s' %s\n", a->target_ref,
                        amb ? "is ambiguous" : "not found among your channels");
                a->quit = 1;
                a->exit_code = CLI_EREJECT;
                return;
            }
            snprintf(a->target_id, sizeof a->target_id, "%s", c->id);
            if (a->mode == APP_SEND) cli_app_send_message(a, c->id, a->send_text);
            if (a->mode == APP_TAIL) {
                if (a->tail_n > 0) {
                    c->cursor = 0; /* newest tail_n, then live */
                    fetch_recovery(a, c, a->tail_n);
                }
                fprintf(stderr, "chat: tailing %s (%s)\n", cli_state_display(c), c->id);
            }
        }
        return;
    }
    if (first && a->reconnecting) { /* a reconnect: recover, then resend */
        a->reconnecting = 0;
        for (size_t i = 0; i < a->st.n_ch; i++) {
            cli_channel *c = a->st.ch[i];
            if (a->mode == APP_SEND) break;
            if (a->mode == APP_TAIL && strcmp(c->id, a->target_id) != 0) continue;
            if (!c->is_new) fetch_recovery(a, c, RECOVER_PAGE);
        }
        outbox_resend(a);
        if (interactive(a)) render_info("reconnected");
        return;
    }
    if (interactive(a))
        for (size_t i = 0; i < a->st.n_ch; i++)
            if (a->st.ch[i]->is_new)
                render_info("you are now in %s (%s channel)", cli_state_display(a->st.ch[i]),
                            a->st.ch[i]->is_direct ? "direct" : "group");
}

static void on_created(cli_app *a, json_t *f) {
    json_t *ch = json_object_get(f, "channel");
    const char *id = sget(ch, "channel_id");
    if (!*id) return;
    int direct = strcmp(sget(ch, "type"), "direct") == 0;
    const char *name = json_string_value(json_object_get(json_object_get(ch, "metadata"), "name"));
    cli_channel *c = cli_state_add(&a->st, id, name, direct);
    c->is_new = 0;
    json_t *parts = json_object_get(ch, "participants");
    cli_state_set_others(c, parts, a->ss.user);
    if (!interactive(a)) return;
    char all[512] = "";
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p) {
        size_t len = strlen(all);
        snprintf(all + len, sizeof all - len, "%s%s", len ? ", " : "",
                 json_string_value(p) ? json_string_value(p) : "?");
    }
    render_info("created %s channel %s (%s) with %s", direct ? "direct" : "group",
                cli_state_display(c), id, all);
}

static void on_joined(cli_app *a, json_t *f) {
    cli_channel *c = channel_of(a, f, "channelId");
    a->awaiting = 0;
    if (!c) return;
    json_t *msgs = json_object_get(f, "messages");
    size_t n = json_array_size(msgs), i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        if (interactive(a) && i + JOIN_SHOW >= n) show(a, c, m, 1);
        cli_state_seen_add(c, cli_state_msg_id(sget(m, "message_id")));
        if (!c->recovering) advance(c, m);
    }
    if (!interactive(a)) return;
    cli_app_set_current(a, c->id);
    render_info("joined %s (%zu members); plain text now goes there", cli_state_display(c),
                json_array_size(json_object_get(f, "participants")));
}

static void on_left(cli_app *a, json_t *f) {
    cli_channel *c = cli_state_find(&a->st, sget(f, "channelId"));
    a->awaiting = 0;
    if (interactive(a)) render_info("left %s", c ? cli_state_display(c) : sget(f, "channelId"));
    if (strcmp(a->current, sget(f, "channelId")) == 0) cli_app_set_current(a, NULL);
    cli_state_remove(&a->st, sget(f, "channelId")); /* before the fresh channels_list comes */
}

static void on_read(cli_app *a, json_t *f) {
    cli_channel *c = cli_state_find(&a->st, sget(f, "channel_id"));
    const char *who = sget(f, "user_id");
    if (!c || !interactive(a)) return;
    if (strcmp(who, a->ss.user) == 0) {
        a->awaiting = 0;
        c->unread = 0;
        render_info("marked %s as read", cli_state_display(c));
    } else {
        render_receipt(cli_state_display(c), who);
    }
}

static void on_history(cli_app *a, json_t *f) {
    cli_channel *c = channel_of(a, f, "channel_id");
    if (!c) return;
    int kind = cli_state_hist_pop(c);
    if (kind == 0) {
        on_recovery_page(a, c, f);
        return;
    }
    size_t i, n = json_array_size(json_object_get(f, "messages"));
    json_t *m;
    a->awaiting = 0;
    if (interactive(a)) render_info("-- last %zu messages of %s --", n, cli_state_display(c));
    json_array_foreach(json_object_get(f, "messages"), i, m) {
        show(a, c, m, 1);
        cli_state_seen_add(c, cli_state_msg_id(sget(m, "message_id")));
    }
}

static void on_error(cli_app *a, json_t *f) {
    const char *rt = sget(f, "request_type");
    a->awaiting = 0;
    if (strcmp(rt, "chat_message") == 0 && json_array_size(a->outbox) > 0)
        json_array_remove(a->outbox, 0); /* rejected: do not resend it */
    if (strcmp(rt, "fetch_history") == 0)
        for (size_t i = 0; i < a->st.n_ch; i++) {
            cli_channel *c = a->st.ch[i];
            if (c->hist_n == 0) continue;
            if (cli_state_hist_pop(c) == 0) {
                c->cursor = 0;
                end_recovery(a, c);
            }
            break;
        }
    if (interactive(a)) {
        render_error("%s%s%s%s", sget(f, "error"), *rt ? " (in reply to " : "", rt, *rt ? ")" : "");
        return;
    }
    fprintf(stderr, "chat: server error: %s (%s)\n", sget(f, "error"), sget(f, "code"));
    if (a->mode == APP_SEND) {
        a->quit = 1;
        a->exit_code = CLI_EREJECT;
    }
}

/* ---- presence frames ---- */
static void on_presence(cli_app *a, json_t *f, int initial) {
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(f, "presence"), i, p) {
        const char *user = sget(p, "user_id"), *status = sget(p, "status");
        if (!*user || !*status) continue;
        const char *old = cli_state_presence_get(&a->st, user);
        int changed = !old || strcmp(old, status) != 0;
        cli_state_presence_set(&a->st, user, status);
        if (initial || !changed || !interactive(a)) continue;
        if (strcmp(user, a->ss.user) == 0) {
            a->awaiting = 0;
            render_info("you are now %s", status);
        } else
            render_presence(user, status);
    }
}

void cli_app_on_frame(cli_app *a, int presence, json_t *f) {
    const char *type = sget(f, "type");
    if (presence) {
        if (strcmp(type, "initial_presence") == 0)
            on_presence(a, f, 1);
        else if (strcmp(type, "presence_update") == 0)
            on_presence(a, f, 0);
        else if (strcmp(type, "error") == 0)
            on_error(a, f);
        return;
    }
    if (strcmp(type, "chat_message") == 0 || strcmp(type, "system") == 0)
        on_message(a, f);
    else if (strcmp(type, "channels_list") == 0)
        on_list(a, f);
    else if (strcmp(type, "channel_created") == 0)
        on_created(a, f);
    else if (strcmp(type, "channel_joined") == 0)
        on_joined(a, f);
    else if (strcmp(type, "channel_left") == 0)
        on_left(a, f);
    else if (strcmp(type, "channel_read") == 0)
        on_read(a, f);
    else if (strcmp(type, "history") == 0)
        on_history(a, f);
    else if (strcmp(type, "error") == 0)
        on_error(a, f);
}

void cli_app_on_connected(cli_app *a) {
    a->have_list = 0;
    a->reconnecting = a->connected_once;
    cli_session_backoff_reset(&a->ss);
}

void cli_app_on_disconnected(cli_app *a, int code) {
    /* Held live messages are dropped: the next recovery fetches them again,
     * from a cursor that never moved past a gap. */
    a->awaiting = 0;
    for (size_t i = 0; i < a->st.n_ch; i++) {
        cli_channel *c = a->st.ch[i];
        c->recovering = 0;
        c->hist_n = 0;
        json_array_clear(c->held);
    }
    if (interactive(a))
        render_error("connection lost%s; reconnecting...",
                     code == 1001 ? " (server going away)" : "");
    else if (a->mode == APP_TAIL)
        fprintf(stderr, "chat: connection lost; reconnecting\n");
}
