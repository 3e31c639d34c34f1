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

#include "cli/app_internal.h"
#include "cli/fmt.h"
#include "cli/render.h"
#include "core/uuid.h"

#define RECOVER_PAGE 100
#define CHANGES_PAGE 500 /* fetch_changes' largest page (§6) */
#define JOIN_SHOW 10     /* messages of channel_joined's history shown as context */

void cli_app_init(cli_app *a, app_mode mode) {
    memset(a, 0, sizeof *a);
    a->mode = mode;
    cli_state_init(&a->st);
    cli_msgs_init(&a->msgs, APP_MSGS_KEPT);
    a->outbox = json_array();
}

void cli_app_free(cli_app *a) {
    cli_session_free(&a->ss);
    cli_state_free(&a->st);
    cli_msgs_free(&a->msgs);
    json_decref(a->outbox);
    json_decref(a->directory);
    for (int i = 0; i < APP_PAGED_KINDS; i++)
        json_decref(a->paged[i]);
    json_decref(a->more);
    a->outbox = NULL;
    a->directory = NULL;
    a->more = NULL;
}

const char *cli__sget(json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

int cli__interactive(const cli_app *a) {
    return a->mode == APP_INTERACTIVE;
}

void cli__update_prompt(cli_app *a) {
    char prompt[320];
    const char *who[APP_TYPING_MAX] = {0};
    size_t n = 0;
    cli_channel *c = a->current[0] ? cli_state_find(&a->st, a->current) : NULL;
    for (size_t i = 0; c && i < a->n_typing; i++)
        if (strcmp(a->typing[i].channel, c->id) == 0) who[n++] = a->typing[i].user;
    char *typing = fmt_typing(who, n);
    snprintf(prompt, sizeof prompt, "%s%s%s%s> ", typing ? "(" : "", typing ? typing : "",
             typing ? ") " : "", c ? cli_state_display(c) : "");
    free(typing);
    render_set_prompt(prompt);
}

void cli_app_set_current(cli_app *a, const char *id) {
    snprintf(a->current, sizeof a->current, "%s", id ? id : "");
    if (cli__interactive(a)) cli__update_prompt(a);
}

int cli_app_request(cli_app *a, json_t *frame) {
    int rc = cli_session_send(&a->ss, 0, frame);
    if (rc != 0 && cli__interactive(a))
        render_error("not connected (reconnecting); try again shortly");
    return rc;
}

int cli_app_send_message(cli_app *a, const char *channel_id, const char *text,
                         const char *reply_to) {
    char cmid[UUID_STR_LEN];
    uuid_v4(cmid);
    json_t *f = json_pack("{s:s, s:s, s:s, s:s}", "type", "chat_message", "channelId", channel_id,
                          "content", text, "client_msg_id", cmid);
    if (!f) return -1;
    if (reply_to) json_object_set_new(f, "reply_to", json_string(reply_to));
    json_array_append_new(a->outbox, f);
    if (cli_session_send(&a->ss, 0, f) != 0 && cli__interactive(a))
        render_info("(offline: the message will be sent after reconnecting)");
    return 0;
}

/* Removes the outbox entry with this client_msg_id; 1 if there was one. */
static int outbox_ack(cli_app *a, const char *cmid) {
    size_t i;
    json_t *f;
    json_array_foreach(a->outbox, i, f) {
        if (strcmp(cli__sget(f, "client_msg_id"), cmid) == 0) {
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
        char mentions[32] = "";
        if (c->mentions > 0)
            snprintf(mentions, sizeof mentions, ", %ld mention%s", c->mentions,
                     c->mentions == 1 ? "" : "s");
        render_info("  %-24s %-7s %3ld unread%s  %.8s%s%s%s", cli_state_display(c),
                    c->is_direct    ? "direct"
                    : c->is_private ? "private"
                                    : "group",
                    c->unread, mentions, c->id, strcmp(c->id, a->current) == 0 ? "  (current)" : "",
                    c->topic && *c->topic ? "  topic: " : "", c->topic ? c->topic : "");
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

static void show_hist(cli_app *a, cli_channel *c, const cli_msg *e, int hist) {
    cli_msg *root = e->reply_to ? cli_msgs_by_id(&a->msgs, c->id, e->reply_to) : NULL;
    char *reactions = fmt_reactions(e->reactions);
    render_msgline l = {
        .chan = cli_state_display(c),
        .sender = e->author,
        .text = e->text,
        .me = a->ss.user,
        .handle = e->handle,
        .reply_to = root ? root->handle : 0,
        .is_reply = e->reply_to != 0,
        .own = strcmp(e->author, a->ss.user) == 0,
        .hist = hist,
        .edited = e->edited,
        .deleted = e->deleted,
        .reactions = reactions,
        .replies = e->reply_count,
    };
    render_message(&l);
    free(reactions);
}

void cli__show_entry(cli_app *a, cli_channel *c, const cli_msg *e) {
    show_hist(a, c, e, 0);
}

void cli__show(cli_app *a, cli_channel *c, json_t *m, int hist) {
    const char *sender = cli__sget(m, "user_id");
    if (a->mode == APP_TAIL) {
        if (strcmp(c->id, a->target_id) == 0 && print_json_line(m) != 0) a->quit = 1;
        return;
    }
    if (!cli__interactive(a)) return;
    if (strcmp(sender, "system") == 0 || strcmp(cli__sget(m, "type"), "system") == 0) {
        render_system(cli_state_display(c), cli__sget(m, "content"), hist);
        return;
    }
    cli_msg *e = cli_msgs_put(&a->msgs, c->id, m);
    if (e) {
        show_hist(a, c, e, hist);
        return;
    }
    render_msgline l = {.chan = cli_state_display(c),
                        .sender = sender,
                        .text = cli__sget(m, "content"),
                        .me = a->ss.user,
                        .own = strcmp(sender, a->ss.user) == 0,
                        .hist = hist};
    render_message(&l);
}

/* Shows m unless its message_id was shown before; 1 if shown. */
static int show_once(cli_app *a, cli_channel *c, json_t *m, int hist) {
    if (cli_state_seen_add(c, cli_state_msg_id(cli__sget(m, "message_id")))) return 0;
    cli__show(a, c, m, hist);
    return 1;
}

static void advance(cli_channel *c, json_t *m) {
    uint64_t id = cli_state_msg_id(cli__sget(m, "message_id"));
    if (id > c->cursor) c->cursor = id;
}

void cli__note_seq(cli_channel *c, json_t *f) {
    json_t *seq = json_object_get(f, "seq");
    if (json_is_integer(seq) && json_integer_value(seq) > 0 &&
        (uint64_t)json_integer_value(seq) > c->seq)
        c->seq = (uint64_t)json_integer_value(seq);
}

void cli__fetch_recovery(cli_app *a, cli_channel *c, int limit) {
    char after[24];
    json_t *f;
    int changes = !a->no_changes && c->seq > 0;
    if (changes) {
        f = json_pack("{s:s, s:s, s:I, s:i}", "type", "fetch_changes", "channelId", c->id,
                      "after_seq", (json_int_t)c->seq, "limit", CHANGES_PAGE);
    } else {
        f = json_pack("{s:s, s:s, s:i}", "type", "fetch_history", "channelId", c->id, "limit",
                      limit);
        if (c->cursor) {
            snprintf(after, sizeof after, "%" PRIu64, c->cursor);
            json_object_set_new(f, "after", json_string(after));
        }
    }
    if (cli_session_send(&a->ss, 0, f) == 0) {
        if (!changes) cli_state_hist_push(c, 0);
        c->recovering = 1;
        c->via_changes = changes;
    }
    json_decref(f);
}

/* A held live frame, replayed once the recovery is done. */
static void replay_held(cli_app *a, cli_channel *c, json_t *f);

void cli__end_recovery(cli_app *a, cli_channel *c) {
    size_t i;
    json_t *m;
    c->recovering = 0;
    c->via_changes = 0;
    json_t *held = c->held;
    c->held = json_array();
    json_array_foreach(held, i, m) replay_held(a, c, m);
    json_decref(held);
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
        cli__note_seq(c, m);
    }
    if (had_cursor && n > 0 && json_is_true(json_object_get(frame, "has_more")))
        cli__fetch_recovery(a, c, RECOVER_PAGE);
    else
        cli__end_recovery(a, c);
}

/* A `changes` page (§6): every stored change after c->seq, in order. */
static void on_changes(cli_app *a, json_t *f) {
    cli_channel *c = cli_state_find(&a->st, cli__sget(f, "channel_id"));
    if (!c) return;
    uint64_t before = c->seq;
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(f, "events"), i, ev) {
        const char *type = cli__sget(ev, "type");
        if (cli__is_change(type))
            cli__on_change(a, c, ev);
        else if (strcmp(type, "chat_message") == 0 || strcmp(type, "system") == 0)
            cli__on_message(a, c, ev, 2);
        cli__note_seq(c, ev);
    }
    if (json_is_true(json_object_get(f, "has_more")) && c->seq > before)
        cli__fetch_recovery(a, c, RECOVER_PAGE);
    else
        cli__end_recovery(a, c);
}

/* ---- chat frames ---- */

static cli_channel *channel_of(cli_app *a, json_t *f, const char *key) {
    const char *id = cli__sget(f, key);
    if (!*id) return NULL;
    return cli_state_add(&a->st, id, NULL, 0); /* known, or a placeholder until the next list */
}

/* how: 0 live, 1 a held live frame replayed, 2 from a recovery page (not
 * counted as unread: the fresh channels_list counted it). */
void cli__on_message(cli_app *a, cli_channel *c, json_t *m, int how) {
    const char *sender = cli__sget(m, "user_id");
    int own = strcmp(sender, a->ss.user) == 0;
    if (how == 0 && c->recovering) {
        json_array_append(c->held, m);
        return;
    }
    cli__note_seq(c, m);
    advance(c, m);
    cli__typing_clear(a, c->id, sender);
    if (!show_once(a, c, m, 0)) return;
    if (strcmp(sender, "system") == 0) cli__on_notice(a, c, m);
    uint64_t root_id = cli_state_msg_id(cli__sget(m, "reply_to"));
    cli_msg *root = root_id ? cli_msgs_by_id(&a->msgs, c->id, root_id) : NULL;
    if (root && !json_is_true(json_object_get(m, "deleted"))) root->reply_count++;
    if (how == 2 || own || strcmp(c->id, a->current) == 0 || strcmp(sender, "system") == 0) return;
    c->unread++;
    if (fmt_message_mentions(m, a->ss.user)) c->mentions++;
}

static void replay_held(cli_app *a, cli_channel *c, json_t *f) {
    if (cli__is_change(cli__sget(f, "type")))
        cli__on_change(a, c, f);
    else
        cli__on_message(a, c, f, 1);
}

static void on_message(cli_app *a, json_t *m) {
    cli_channel *c = channel_of(a, m, "channel_id");
    if (!c) return;
    const char *cmid = cli__sget(m, "client_msg_id");
    int own = strcmp(cli__sget(m, "user_id"), a->ss.user) == 0;
    if (own && *cmid && outbox_ack(a, cmid) && a->mode == APP_SEND) {
        a->quit = 1;
        a->exit_code = CLI_OK;
        return;
    }
    cli__on_message(a, c, m, 0);
}

static void on_list(cli_app *a, json_t *f) {
    int first = !a->have_list;
    cli_state_apply_list(&a->st, f);
    a->have_list = 1;
    if (a->current[0] && !cli_state_find(&a->st, a->current))
        cli_app_set_current(a, NULL);
    else if (cli__interactive(a))
        cli__update_prompt(a); /* a joined channel's name may only be known now */

    if (first && !a->connected_once) { /* the very first connection */
        a->connected_once = 1;
        if (cli__interactive(a)) {
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
            if (a->mode == APP_SEND) cli_app_send_message(a, c->id, a->send_text, NULL);
            if (a->mode == APP_TAIL) {
                if (a->tail_n > 0) {
                    c->cursor = 0; /* newest tail_n, then live */
                    cli__fetch_recovery(a, c, a->tail_n);
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
            if (!c->is_new) cli__fetch_recovery(a, c, RECOVER_PAGE);
        }
        outbox_resend(a);
        if (cli__interactive(a)) render_info("reconnected");
        return;
    }
    if (cli__interactive(a))
        for (size_t i = 0; i < a->st.n_ch; i++)
            if (a->st.ch[i]->is_new)
                render_info("you are now in %s (%s channel)", cli_state_display(a->st.ch[i]),
                            a->st.ch[i]->is_direct ? "direct" : "group");
}

static void on_created(cli_app *a, json_t *f) {
    json_t *ch = json_object_get(f, "channel");
    const char *id = cli__sget(ch, "channel_id");
    if (!*id) return;
    int direct = strcmp(cli__sget(ch, "type"), "direct") == 0;
    const char *name = json_string_value(json_object_get(json_object_get(ch, "metadata"), "name"));
    cli_channel *c = cli_state_add(&a->st, id, name, direct);
    c->is_new = 0;
    c->listed = 1; /* ours: no "you are now in" when the list names it */
    json_t *parts = json_object_get(ch, "participants");
    cli_state_set_others(c, parts, a->ss.user);
    if (!cli__interactive(a)) return;
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
    c->listed = 1; /* joined by us: no "you are now in" when the list names it */
    cli__name_from_directory(a, c);
    json_t *msgs = json_object_get(f, "messages");
    size_t n = json_array_size(msgs), i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        if (cli__interactive(a) && i + JOIN_SHOW >= n) cli__show(a, c, m, 1);
        cli_state_seen_add(c, cli_state_msg_id(cli__sget(m, "message_id")));
        if (!c->recovering) {
            advance(c, m);
            cli__note_seq(c, m);
        }
    }
    if (!cli__interactive(a)) return;
    cli_app_set_current(a, c->id);
    render_info("joined %s (%zu members); plain text now goes there", cli_state_display(c),
                json_array_size(json_object_get(f, "participants")));
    if (c->topic && *c->topic) render_info("topic: %s", c->topic);
}

static void on_left(cli_app *a, json_t *f) {
    cli_channel *c = cli_state_find(&a->st, cli__sget(f, "channelId"));
    a->awaiting = 0;
    if (cli__interactive(a))
        render_info("left %s", c ? cli_state_display(c) : cli__sget(f, "channelId"));
    if (strcmp(a->current, cli__sget(f, "channelId")) == 0) cli_app_set_current(a, NULL);
    cli_state_remove(&a->st, cli__sget(f, "channelId")); /* before the fresh channels_list comes */
}

static void on_read(cli_app *a, json_t *f) {
    cli_channel *c = cli_state_find(&a->st, cli__sget(f, "channel_id"));
    const char *who = cli__sget(f, "user_id");
    if (!c || !cli__interactive(a)) return;
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
    if (cli__interactive(a)) render_info("-- last %zu messages of %s --", n, cli_state_display(c));
    json_array_foreach(json_object_get(f, "messages"), i, m) {
        cli__show(a, c, m, 1);
        cli_state_seen_add(c, cli_state_msg_id(cli__sget(m, "message_id")));
    }
}

static void on_error(cli_app *a, json_t *f) {
    const char *rt = cli__sget(f, "request_type");
    if (cli__v11_error(a, f)) return;
    a->awaiting = 0;
    if (strcmp(rt, "chat_message") == 0 && json_array_size(a->outbox) > 0)
        json_array_remove(a->outbox, 0); /* rejected: do not resend it */
    if (strcmp(rt, "fetch_history") == 0)
        for (size_t i = 0; i < a->st.n_ch; i++) {
            cli_channel *c = a->st.ch[i];
            if (c->hist_n == 0) continue;
            if (cli_state_hist_pop(c) == 0) {
                c->cursor = 0;
                cli__end_recovery(a, c);
            }
            break;
        }
    if (cli__interactive(a) && strcmp(cli__sget(f, "code"), "unknown_type") == 0 && *rt) {
        render_error("this server does not support %s (it predates protocol 1.1)", rt);
        return;
    }
    if (cli__interactive(a)) {
        render_error("%s%s%s%s", cli__sget(f, "error"), *rt ? " (in reply to " : "", rt,
                     *rt ? ")" : "");
        return;
    }
    fprintf(stderr, "chat: server error: %s (%s)\n", cli__sget(f, "error"), cli__sget(f, "code"));
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
        const char *user = cli__sget(p, "user_id"), *status = cli__sget(p, "status");
        if (!*user || !*status) continue;
        const char *old = cli_state_presence_get(&a->st, user);
        int changed = !old || strcmp(old, status) != 0;
        cli_state_presence_set(&a->st, user, status);
        if (initial || !changed || !cli__interactive(a)) continue;
        if (strcmp(user, a->ss.user) == 0) {
            a->awaiting = 0;
            render_info("you are now %s", status);
        } else
            render_presence(user, status);
    }
}

void cli_app_on_frame(cli_app *a, int presence, json_t *f) {
    const char *type = cli__sget(f, "type");
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
    else if (strcmp(type, "changes") == 0)
        on_changes(a, f);
    else if (strcmp(type, "error") == 0)
        on_error(a, f);
    else
        cli__on_v11_frame(a, type, f); /* unknown types are ignored */
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
    a->n_typing = 0; /* nobody's typing outlives the connection */
    for (size_t i = 0; i < a->st.n_ch; i++) {
        cli_channel *c = a->st.ch[i];
        c->recovering = 0;
        c->via_changes = 0;
        c->hist_n = 0;
        json_array_clear(c->held);
    }
    if (cli__interactive(a))
        render_error("connection lost%s; reconnecting...",
                     code == 1001 ? " (server going away)" : "");
    else if (a->mode == APP_TAIL)
        fprintf(stderr, "chat: connection lost; reconnecting\n");
}
