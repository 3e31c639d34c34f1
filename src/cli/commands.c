/*
 * commands: parsing and running the interactive client's /commands. See
 * commands.h. Each command builds one request frame and sends it; what
 * the server answers is shown by app.c when the reply arrives.
 */
#define _GNU_SOURCE
#include "cli/commands.h"
#include "core/alloc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_internal.h"
#include "cli/render.h"

static const char HELP[] =
    "Commands (a channel is an id, a unique id prefix, or a name; @user for a DM):\n"
    "  <text>                        send to the current channel (//text sends /text)\n"
    "  /msg <text>                   send to the current channel\n"
    "  /create <name> [users...]     create a group channel; quote names with spaces:\n"
    "                                /create \"Team Chat\" alice bob\n"
    "  /dm <user>                    open (or create) a direct channel with user\n"
    "  /join <channel>               join a channel and make it current\n"
    "  /leave [channel]              leave a channel (default: the current one)\n"
    "  /read [channel]               mark a channel read (others see \"seen by\")\n"
    "  /history [n]                  show the last n messages (default 20, max 100)\n"
    "  /channels                     list your channels with unread and mention counts\n"
    "  /channels all [text]          the directory of public channels (alias /directory);\n"
    "                                then /join <name> joins one\n"
    "  /who                          presence of the current channel's members\n"
    "  /status <online|away|busy|offline>   set your status\n"
    "Messages: each shown message starts with its number, e.g. \"#12 [Team] bob: hi\";\n"
    "<msg> is that number (12 or #12), ^ for the newest message of the current channel\n"
    "(with /edit and /delete: your newest), or a full message id.\n"
    "  /reply <msg> <text>           answer in the message's thread\n"
    "  /thread <msg>                 show a message's thread\n"
    "  /edit <msg> <text>            replace the text of your message\n"
    "  /delete <msg>                 delete your message (a group's admins: anyone's)\n"
    "  /react <msg> <emoji>          add a reaction (again: take it back)\n"
    "  /unreact <msg> <emoji>        take a reaction back\n"
    "  /search [-c <channel>] <query>  find messages: all words, word* for a prefix,\n"
    "                                \"two words\" for a phrase\n"
    "  /more                         the next page of /search, /thread or /channels all\n"
    "Managing the current channel:\n"
    "  /create -p <name> [users...]  create a private channel (joined by invitation only)\n"
    "  /add <user...>                add members            /remove <user>   remove one (admin)\n"
    "  /topic [text]                 show or set the topic (/topic - clears it; admin)\n"
    "  /rename <name>                rename the channel (admin)\n"
    "  /role <user> <admin|member>   make someone admin or member (admin)\n"
    "@name in a message mentions a member (highlighted for them); others typing show in\n"
    "the prompt: \"(bob is typing…) Team> \". Tab completes commands, channels and @names.\n"
    "  /help                         this text\n"
    "  /quit                         exit (also Ctrl-D)";

const char *const cmd_names[] = {
    "/msg",      "/create",  "/dm",     "/join",  "/leave",  "/read",   "/history",
    "/channels", "/who",     "/status", "/reply", "/thread", "/edit",   "/delete",
    "/react",    "/unreact", "/search", "/more",  "/add",    "/remove", "/topic",
    "/rename",   "/role",    "/help",   "/quit",  NULL,
};

void cmd_free_argv(char **argv, int argc) {
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
}

int cmd_split(const char *s, char ***argv_out, int *argc_out) {
    size_t len = strlen(s);
    char **argv = xcalloc(len / 2 + 2, sizeof *argv); /* at most len/2+1 words */
    char *word = xmalloc(len + 1);
    int argc = 0;

    const char *p = s;
    for (;;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p) break;
        size_t n = 0;
        char quote = 0;
        for (; *p; p++) {
            if (quote == '\'') {
                if (*p == '\'')
                    quote = 0;
                else
                    word[n++] = *p;
            } else if (*p == '\\' && p[1]) {
                word[n++] = *++p;
            } else if (quote == '"') {
                if (*p == '"')
                    quote = 0;
                else
                    word[n++] = *p;
            } else if (*p == '"' || *p == '\'') {
                quote = *p;
            } else if (isspace((unsigned char)*p)) {
                break;
            } else {
                word[n++] = *p;
            }
        }
        if (quote) {
            free(word);
            cmd_free_argv(argv, argc);
            return -1;
        }
        word[n] = '\0';
        argv[argc] = xstrdup(word);
        argc++;
    }
    free(word);
    *argv_out = argv;
    *argc_out = argc;
    return 0;
}

/* Commands whose last argument is free text, where a lone apostrophe
 * ("/reply 12 don't") is text, not an open quote. */
static int free_text_command(const char *word) {
    static const char *const cmds[] = {"/msg",    "/reply", "/re",     "/edit",
                                       "/search", "/topic", "/rename", NULL};
    for (int i = 0; cmds[i]; i++)
        if (strcmp(word, cmds[i]) == 0) return 1;
    return 0;
}

int cmd_split_words(const char *s, char ***argv_out, int *argc_out, int free_text_only) {
    size_t len = strlen(s);
    char **argv = xcalloc(len / 2 + 2, sizeof *argv);
    int argc = 0;
    for (const char *p = s;;) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p) break;
        const char *w = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        argv[argc++] = xstrndup(w, (size_t)(p - w));
    }
    if (free_text_only && (argc == 0 || !free_text_command(argv[0]))) {
        cmd_free_argv(argv, argc);
        return -1;
    }
    *argv_out = argv;
    *argc_out = argc;
    return 0;
}

const char *cmd__skip_words(const char *s, int n) {
    for (int i = 0; i < n; i++) {
        while (*s && isspace((unsigned char)*s))
            s++;
        while (*s && !isspace((unsigned char)*s))
            s++;
    }
    while (*s && isspace((unsigned char)*s))
        s++;
    return s;
}

const char *cmd__channel_arg(cli_app *a, const char *ref) {
    if (!ref) {
        if (!a->current[0]) render_error("no current channel: /join one first");
        return a->current[0] ? a->current : NULL;
    }
    int amb = 0;
    cli_channel *c = cli_state_resolve(&a->st, ref, &amb);
    if (c) return c->id;
    if (amb)
        render_error("'%s' matches %d channels; type more of the id or the name", ref, amb);
    else
        render_error("no channel '%s' among yours (see /channels)", ref);
    return NULL;
}

static int looks_like_uuid(const char *s) {
    if (strlen(s) != 36) return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) return 0;
    }
    return 1;
}

static void send_text(cli_app *a, const char *text) {
    if (!*text) return;
    if (!a->current[0]) {
        render_error("no current channel: /join <channel> or /create <name> first");
        return;
    }
    cli_app_send_message(a, a->current, text, NULL);
}

void cmd__request_awaited(cli_app *a, json_t *f) {
    if (cli_app_request(a, f) == 0) a->awaiting = 1;
}

static void request_simple(cli_app *a, const char *type, const char *id) {
    json_t *f = json_pack("{s:s, s:s}", "type", type, "channelId", id);
    cmd__request_awaited(a, f);
    json_decref(f);
}

static void cmd_create(cli_app *a, int argc, char **argv) {
    int priv = argc > 1 && (strcmp(argv[1], "-p") == 0 || strcmp(argv[1], "--private") == 0);
    if (argc < 2 + priv) {
        render_error("usage: /create [-p] <name> [users...]");
        return;
    }
    json_t *parts = json_array();
    for (int i = 2 + priv; i < argc; i++)
        json_array_append_new(parts, json_string(argv[i]));
    json_t *f = json_pack("{s:s, s:s, s:o}", "type", "create_channel", "name", argv[1 + priv],
                          "participants", parts);
    if (priv) json_object_set_new(f, "private", json_true());
    cmd__request_awaited(a, f);
    json_decref(f);
}

static void cmd_dm(cli_app *a, int argc, char **argv) {
    if (argc != 2) {
        render_error("usage: /dm <user>");
        return;
    }
    const char *user = argv[1][0] == '@' ? argv[1] + 1 : argv[1];
    json_t *f = json_pack("{s:s, s:[s], s:s}", "type", "create_channel", "participants", user,
                          "kind", "direct");
    cmd__request_awaited(a, f);
    json_decref(f);
}

static void cmd_join(cli_app *a, int argc, char **argv) {
    if (argc != 2) {
        render_error("usage: /join <channel>");
        return;
    }
    int amb = 0;
    cli_channel *c = cli_state_resolve(&a->st, argv[1], &amb);
    if (!c && !amb && looks_like_uuid(argv[1])) {
        request_simple(a, "join_channel", argv[1]); /* a group you are not in yet */
        return;
    }
    const char *listed = c || amb ? NULL : cmd__directory_find(a, argv[1]);
    if (listed) { /* a public channel from /channels all */
        request_simple(a, "join_channel", listed);
        return;
    }
    const char *id = cmd__channel_arg(a, argv[1]);
    if (id) request_simple(a, "join_channel", id);
}

static void cmd_history(cli_app *a, int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20;
    if (argc > 2 || n < 1 || n > 100) {
        render_error("usage: /history [n], 1 <= n <= 100");
        return;
    }
    cli_channel *c = a->current[0] ? cli_state_find(&a->st, a->current) : NULL;
    if (!c) {
        render_error("no current channel: /join one first");
        return;
    }
    json_t *f =
        json_pack("{s:s, s:s, s:i}", "type", "fetch_history", "channelId", c->id, "limit", n);
    if (cli_app_request(a, f) == 0) {
        cli_state_hist_push(c, n);
        a->awaiting = 1;
    }
    json_decref(f);
}

static void cmd_who(cli_app *a) {
    cli_channel *c = a->current[0] ? cli_state_find(&a->st, a->current) : NULL;
    if (!c) {
        render_error("no current channel: /join one first");
        return;
    }
    const char *mine = cli_state_presence_get(&a->st, a->ss.user);
    render_info("Members of %s:", cli_state_display(c));
    render_info("  %-32s %s (you)", a->ss.user, mine ? mine : "online");
    for (size_t i = 0; i < c->n_others; i++) {
        const char *st = cli_state_presence_get(&a->st, c->others[i]);
        render_info("  %-32s %s", c->others[i], st ? st : "offline");
    }
}

static void cmd_status(cli_app *a, int argc, char **argv) {
    static const char *const ok[] = {"online", "away", "busy", "offline"};
    int valid = 0;
    for (size_t i = 0; argc == 2 && i < 4; i++)
        valid |= strcmp(argv[1], ok[i]) == 0;
    if (!valid) {
        render_error("usage: /status <online|away|busy|offline>");
        return;
    }
    json_t *f = json_pack("{s:s, s:s}", "type", "status_update", "status", argv[1]);
    if (cli_session_send(&a->ss, 1, f) != 0)
        render_error("not connected (reconnecting); try again shortly");
    else
        a->awaiting = 1; /* until our own presence_update confirms it */
    json_decref(f);
}

/* Runs a /command; rest is the line after the command word. */
static void run(cli_app *a, int argc, char **argv, const char *rest) {
    const char *cmd = argv[0] + 1;
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "?") == 0) {
        for (const char *l = HELP; *l;) { /* line by line: render indents continuation lines */
            const char *nl = strchr(l, '\n');
            int len = nl ? (int)(nl - l) : (int)strlen(l);
            render_info("%.*s", len, l);
            l += len + (nl ? 1 : 0);
        }
    } else if (strcmp(cmd, "quit") == 0 || strcmp(cmd, "exit") == 0) {
        a->quit = 1;
    } else if (strcmp(cmd, "msg") == 0) {
        if (!*rest)
            render_error("usage: /msg <text>");
        else
            send_text(a, rest);
    } else if (strcmp(cmd, "create") == 0) {
        cmd_create(a, argc, argv);
    } else if (strcmp(cmd, "dm") == 0) {
        cmd_dm(a, argc, argv);
    } else if (strcmp(cmd, "join") == 0) {
        cmd_join(a, argc, argv);
    } else if (strcmp(cmd, "leave") == 0 || strcmp(cmd, "read") == 0) {
        if (argc > 2) {
            render_error("usage: /%s [channel]", cmd);
            return;
        }
        const char *id = cmd__channel_arg(a, argc > 1 ? argv[1] : NULL);
        if (id) request_simple(a, cmd[0] == 'l' ? "leave_channel" : "mark_channel_read", id);
    } else if (strcmp(cmd, "history") == 0) {
        cmd_history(a, argc, argv);
    } else if ((strcmp(cmd, "channels") == 0 || strcmp(cmd, "list") == 0) && argc == 1) {
        cli_app_print_channels(a);
    } else if (cmd__run_v11(a, argc, argv, rest)) {
        /* done */
    } else if (strcmp(cmd, "who") == 0) {
        cmd_who(a);
    } else if (strcmp(cmd, "status") == 0) {
        cmd_status(a, argc, argv);
    } else {
        render_error("unknown command /%s (try /help)", cmd);
    }
}

void cmd_execute(cli_app *a, const char *line) {
    while (*line == ' ' || *line == '\t')
        line++;
    if (line[0] != '/' || line[1] == '/') {
        send_text(a, line[0] == '/' ? line + 1 : line);
        return;
    }
    const char *rest = line + 1;
    while (*rest && !isspace((unsigned char)*rest))
        rest++;
    while (*rest && isspace((unsigned char)*rest))
        rest++;
    char **argv;
    int argc;
    if (cmd_split(line, &argv, &argc) != 0 && cmd_split_words(line, &argv, &argc, 1) != 0) {
        render_error("unterminated quote");
        return;
    }
    if (argc > 0) run(a, argc, argv, rest);
    cmd_free_argv(argv, argc);
}
