/*
 * commands_v11: the interactive commands of protocol 1.1 (PROTOCOL.md §6):
 * the message commands (/reply, /thread, /edit, /delete, /react,
 * /unreact, /search), the channel directory (/channels all, /directory)
 * and channel management (/add, /remove, /topic, /rename, /role). A
 * message is named by its handle (msgs.h) as fmt_parse_ref reads it. Each
 * command sends one request; the reply is shown by app_v11.c.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cmd_internal.h"
#include "cli/fmt.h"
#include "cli/render.h"

#define SEARCH_PAGE 20
#define DIRECTORY_PAGE 50
#define THREAD_PAGE 100

/* A message a command acts on. */
typedef struct target {
    char channel[40];
    char id[24];
    cli_msg *m; /* its table entry, NULL when not on screen (a typed id) */
} target;

/* Resolves a typed message reference. mine: "^" means the user's own
 * newest message. 0, or -1 after reporting the problem. */
static int resolve(cli_app *a, const char *ref, int mine, target *t) {
    fmt_ref r;
    memset(t, 0, sizeof *t);
    if (fmt_parse_ref(ref, &r) != 0) {
        render_error("'%s' is not a message: give the number shown before it (12 or #12), ^ for "
                     "the newest, or a message id",
                     ref ? ref : "");
        return -1;
    }
    if (r.kind == FMT_REF_HANDLE) {
        t->m = cli_msgs_by_handle(&a->msgs, r.value);
        if (!t->m) {
            render_error("no message #%" PRIu64 " on screen (only the last %d shown keep their "
                         "number; find it with /history or /search)",
                         r.value, APP_MSGS_KEPT);
            return -1;
        }
        snprintf(t->channel, sizeof t->channel, "%s", t->m->channel);
        snprintf(t->id, sizeof t->id, "%" PRIu64, t->m->id);
        return 0;
    }
    if (!a->current[0]) {
        render_error("no current channel: /join one first");
        return -1;
    }
    snprintf(t->channel, sizeof t->channel, "%s", a->current);
    if (r.kind == FMT_REF_LAST) {
        t->m = cli_msgs_last(&a->msgs, a->current, mine ? a->ss.user : NULL);
        if (!t->m) {
            render_error("no %smessage shown in this channel yet", mine ? "own " : "");
            return -1;
        }
        snprintf(t->id, sizeof t->id, "%" PRIu64, t->m->id);
        return 0;
    }
    t->m = cli_msgs_by_id(&a->msgs, a->current, r.value);
    snprintf(t->id, sizeof t->id, "%" PRIu64, r.value);
    return 0;
}

static json_t *msg_request(const char *type, const target *t) {
    return json_pack("{s:s, s:s, s:s}", "type", type, "channelId", t->channel, "message_id", t->id);
}

static void send_and_free(cli_app *a, json_t *f) {
    cli_app_request(a, f);
    json_decref(f);
}

static void cmd_reply(cli_app *a, int argc, char **argv, const char *rest) {
    const char *text = cmd__skip_words(rest, 1);
    target t;
    if (argc < 3 || !*text) {
        render_error("usage: /reply <msg> <text>");
        return;
    }
    if (resolve(a, argv[1], 0, &t) != 0) return;
    if (t.m && t.m->deleted) {
        render_error("#%u is deleted: there is nothing to reply to", t.m->handle);
        return;
    }
    cli_app_send_message(a, t.channel, text, t.id);
}

static void cmd_thread(cli_app *a, int argc, char **argv) {
    target t;
    if (argc != 2) {
        render_error("usage: /thread <msg>");
        return;
    }
    if (resolve(a, argv[1], 0, &t) != 0) return;
    /* a reply's thread is its root's */
    if (t.m && t.m->reply_to) snprintf(t.id, sizeof t.id, "%" PRIu64, t.m->reply_to);
    json_t *f = msg_request("fetch_thread", &t);
    json_object_set_new(f, "limit", json_integer(THREAD_PAGE));
    cli_app_request_paged(a, APP_PAGED_THREAD, f);
    json_decref(f);
}

/* The checks /edit and /delete share: the message is known to be ours
 * (only admins may delete others' messages: the server decides that). */
static int own_message(cli_app *a, const target *t, const char *verb, int admins_may) {
    if (!t->m) return 1;
    if (t->m->deleted) {
        render_error("#%u is already deleted", t->m->handle);
        return 0;
    }
    if (!admins_may && strcmp(t->m->author, a->ss.user) != 0) {
        render_error("#%u is %s's message: you can only %s your own", t->m->handle, t->m->author,
                     verb);
        return 0;
    }
    return 1;
}

static void cmd_edit(cli_app *a, int argc, char **argv, const char *rest) {
    const char *text = cmd__skip_words(rest, 1);
    target t;
    if (argc < 3 || !*text) {
        render_error("usage: /edit <msg> <new text>");
        return;
    }
    if (resolve(a, argv[1], 1, &t) != 0 || !own_message(a, &t, "edit", 0)) return;
    json_t *f = msg_request("edit_message", &t);
    json_object_set_new(f, "content", json_string(text));
    send_and_free(a, f);
}

static void cmd_delete(cli_app *a, int argc, char **argv) {
    target t;
    if (argc != 2) {
        render_error("usage: /delete <msg>");
        return;
    }
    if (resolve(a, argv[1], 1, &t) != 0) return;
    cli_channel *c = cli_state_find(&a->st, t.channel);
    int admins_may = !(c && c->is_direct); /* a direct channel has no admins */
    if (!own_message(a, &t, "delete", admins_may)) return;
    send_and_free(a, msg_request("delete_message", &t));
}

/* /react (toggles when the user's reaction is known) and /unreact. */
static void cmd_react(cli_app *a, int argc, char **argv, int remove) {
    target t;
    if (argc != 3) {
        render_error("usage: /%s <msg> <emoji>", remove ? "unreact" : "react");
        return;
    }
    if (!fmt_emoji_ok(argv[2])) {
        render_error("'%s' is not a reaction: 1 to 32 bytes without spaces", argv[2]);
        return;
    }
    if (resolve(a, argv[1], 0, &t) != 0) return;
    if (t.m && t.m->deleted) {
        render_error("#%u is deleted", t.m->handle);
        return;
    }
    if (!remove && t.m && cli_msgs_has_reacted(t.m, argv[2], a->ss.user)) remove = 1;
    json_t *f = msg_request("react", &t);
    json_object_set_new(f, "emoji", json_string(argv[2]));
    json_object_set_new(f, "op", json_string(remove ? "remove" : "add"));
    send_and_free(a, f);
}

static void cmd_search(cli_app *a, int argc, char **argv, const char *rest) {
    const char *query = rest;
    const char *chan = NULL;
    if (argc >= 3 && (strcmp(argv[1], "-c") == 0 || strcmp(argv[1], "--channel") == 0)) {
        if (!(chan = cmd__channel_arg(a, argv[2]))) return;
        query = cmd__skip_words(rest, 2);
    }
    if (!*query || strlen(query) > 256) {
        render_error("usage: /search [-c <channel>] <query> (1 to 256 bytes)");
        return;
    }
    json_t *f =
        json_pack("{s:s, s:s, s:i}", "type", "search", "query", query, "limit", SEARCH_PAGE);
    if (chan) json_object_set_new(f, "channelId", json_string(chan));
    cli_app_request_paged(a, APP_PAGED_SEARCH, f);
    json_decref(f);
}

static void cmd_directory(cli_app *a, const char *query) {
    json_t *f = json_pack("{s:s, s:i}", "type", "list_channels", "limit", DIRECTORY_PAGE);
    if (query && *query) json_object_set_new(f, "query", json_string(query));
    cli_app_request_paged(a, APP_PAGED_DIRECTORY, f);
    json_decref(f);
}

/* /more: the next page of the last paged answer. */
static void cmd_more(cli_app *a) {
    if (!a->more) {
        render_error("nothing more to show (/more follows /search, /thread and /channels all)");
        return;
    }
    const char *type = json_string_value(json_object_get(a->more, "type"));
    app_paged kind = strcmp(type, "search") == 0         ? APP_PAGED_SEARCH
                     : strcmp(type, "fetch_thread") == 0 ? APP_PAGED_THREAD
                                                         : APP_PAGED_DIRECTORY;
    json_t *f = a->more;
    a->more = NULL;
    cli_app_request_paged(a, kind, f);
    json_decref(f);
}

const char *cmd__directory_find(cli_app *a, const char *name) {
    size_t i;
    json_t *e;
    json_array_foreach(a->directory, i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));
        const char *id = json_string_value(json_object_get(e, "channel_id"));
        if (n && id && strcasecmp(n, name) == 0) return id;
    }
    return NULL;
}

/* The current channel for a management command, or NULL (reported). */
static cli_channel *current(cli_app *a) {
    cli_channel *c = a->current[0] ? cli_state_find(&a->st, a->current) : NULL;
    if (!c) render_error("no current channel: /join one first");
    return c;
}

static void cmd_add(cli_app *a, int argc, char **argv) {
    cli_channel *c;
    if (argc < 2) {
        render_error("usage: /add <user...>");
        return;
    }
    if (!(c = current(a))) return;
    json_t *users = json_array();
    for (int i = 1; i < argc; i++)
        json_array_append_new(users, json_string(argv[i][0] == '@' ? argv[i] + 1 : argv[i]));
    send_and_free(a, json_pack("{s:s, s:s, s:o}", "type", "add_members", "channelId", c->id,
                               "userIds", users));
}

static void cmd_remove(cli_app *a, int argc, char **argv) {
    cli_channel *c;
    if (argc != 2) {
        render_error("usage: /remove <user>");
        return;
    }
    if (!(c = current(a))) return;
    const char *user = argv[1][0] == '@' ? argv[1] + 1 : argv[1];
    if (strcmp(user, a->ss.user) == 0) {
        render_error("to remove yourself, /leave");
        return;
    }
    send_and_free(a, json_pack("{s:s, s:s, s:s}", "type", "remove_member", "channelId", c->id,
                               "userId", user));
}

static void cmd_role(cli_app *a, int argc, char **argv) {
    cli_channel *c;
    if (argc != 3 || (strcmp(argv[2], "admin") != 0 && strcmp(argv[2], "member") != 0)) {
        render_error("usage: /role <user> <admin|member>");
        return;
    }
    if (!(c = current(a))) return;
    const char *user = argv[1][0] == '@' ? argv[1] + 1 : argv[1];
    send_and_free(a, json_pack("{s:s, s:s, s:s, s:s}", "type", "set_role", "channelId", c->id,
                               "userId", user, "role", argv[2]));
}

/* /topic [text|-] and /rename <name>: update_channel. */
static void cmd_update(cli_app *a, int argc, char **argv, const char *rest, int rename) {
    cli_channel *c;
    if (!(c = current(a))) return;
    if (!rename && argc == 1) {
        if (c->topic && *c->topic)
            render_info("topic of %s: %s", cli_state_display(c), c->topic);
        else
            render_info("%s has no topic (/topic <text> sets one)", cli_state_display(c));
        return;
    }
    const char *value = argc == 2 ? argv[1] : rest; /* quotes optional */
    if (rename && (argc < 2 || !*value)) {
        render_error("usage: /rename <name>");
        return;
    }
    if (!rename && strcmp(value, "-") == 0) value = "";
    send_and_free(a, json_pack("{s:s, s:s, s:s}", "type", "update_channel", "channelId", c->id,
                               rename ? "name" : "topic", value));
}

int cmd__run_v11(cli_app *a, int argc, char **argv, const char *rest) {
    const char *cmd = argv[0] + 1;
    if (strcmp(cmd, "reply") == 0 || strcmp(cmd, "re") == 0)
        cmd_reply(a, argc, argv, rest);
    else if (strcmp(cmd, "thread") == 0)
        cmd_thread(a, argc, argv);
    else if (strcmp(cmd, "edit") == 0)
        cmd_edit(a, argc, argv, rest);
    else if (strcmp(cmd, "delete") == 0 || strcmp(cmd, "del") == 0)
        cmd_delete(a, argc, argv);
    else if (strcmp(cmd, "react") == 0 || strcmp(cmd, "unreact") == 0)
        cmd_react(a, argc, argv, cmd[0] == 'u');
    else if (strcmp(cmd, "search") == 0)
        cmd_search(a, argc, argv, rest);
    else if (strcmp(cmd, "more") == 0)
        cmd_more(a);
    else if (strcmp(cmd, "directory") == 0 || strcmp(cmd, "browse") == 0)
        cmd_directory(a, rest);
    else if ((strcmp(cmd, "channels") == 0 || strcmp(cmd, "list") == 0) &&
             strcmp(argv[1], "all") == 0)
        cmd_directory(a, cmd__skip_words(rest, 1));
    else if (strcmp(cmd, "channels") == 0 || strcmp(cmd, "list") == 0)
        render_error("usage: /channels, or /channels all [text] for the directory");
    else if (strcmp(cmd, "add") == 0 || strcmp(cmd, "invite") == 0)
        cmd_add(a, argc, argv);
    else if (strcmp(cmd, "remove") == 0 || strcmp(cmd, "kick") == 0)
        cmd_remove(a, argc, argv);
    else if (strcmp(cmd, "role") == 0)
        cmd_role(a, argc, argv);
    else if (strcmp(cmd, "topic") == 0 || strcmp(cmd, "rename") == 0)
        cmd_update(a, argc, argv, rest, cmd[0] == 'r');
    else
        return 0;
    return 1;
}
