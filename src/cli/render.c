/*
 * render: the client's output. See render.h. The line editor is libedit's
 * readline-compatible callback interface, so the event loop stays ours
 * (poll over stdin and the sockets) and the editor only sees stdin bytes.
 */
#define _GNU_SOURCE
#include "cli/render.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "cli/fmt.h"

#define C_RESET "\033[0m"
#define C_BOLD "\033[1m"
#define C_DIM "\033[2m"
#define C_RED "\033[1;31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_BLUE "\033[34m"
#define C_MAGENTA "\033[35m"
#define C_CYAN "\033[36m"
#define C_MENTION "\033[1;7;33m" /* bold, reverse, yellow */

static int g_color;
static int g_editor;     /* the readline handler is installed */
static int g_in_handler; /* inside the line callback: the line is already accepted */
static char g_prompt[256];

void render_init(int color) {
    if (color < 0) {
        const char *nc = getenv("NO_COLOR");
        color = isatty(STDOUT_FILENO) && !(nc && *nc);
    }
    g_color = color;
}

static const char *col(const char *code) {
    return g_color ? code : "";
}

/* Appends s to the stream with control characters made harmless. */
static void put_clean(FILE *f, const char *s) {
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '\n')
            fputs("\n    ", f);
        else if (*p == '\t' || *p >= 0x20)
            fputc(*p != 0x7f ? *p : '?', f);
        else
            fputc('?', f);
    }
}

/* Clears the prompt line before a print (when the editor is on). */
static char *begin(int *point) {
    char *saved = NULL;
    if (!g_editor || g_in_handler) return NULL;
    *point = rl_point;
    /* (not rl_copy_text: libedit's drops the last character) */
    saved = strndup(rl_line_buffer ? rl_line_buffer : "", (size_t)rl_end);
    rl_replace_line("", 0); /* (libedit: rl_redisplay here would corrupt its state) */
    fputs("\r\033[K", stdout);
    return saved;
}

/* Ends a print: newline, flush, redraw prompt and typed text. */
static void end(char *saved, int point) {
    fputs(col(C_RESET), stdout);
    fputc('\n', stdout);
    fflush(stdout);
    if (!g_editor || g_in_handler) return;
    rl_replace_line(saved ? saved : "", 0);
    rl_point = point;
    rl_forced_update_display();
    free(saved);
}

/* Prints text with every "@me" mention highlighted (when in colour);
 * after: the colour to return to after one. */
static void put_highlighted(const char *text, const char *me, const char *after) {
    size_t done = 0, pos = 0, at, len, ml = me ? strlen(me) : 0;
    while (g_color && ml && fmt_next_mention(text, pos, &at, &len)) {
        pos = at + 1 + len;
        if (len != ml || strncmp(text + at + 1, me, ml) != 0) continue;
        char *part = strndup(text + done, at - done);
        put_clean(stdout, part);
        free(part);
        fputs(C_MENTION, stdout);
        fputc('@', stdout);
        put_clean(stdout, me);
        fputs(C_RESET, stdout);
        fputs(after, stdout);
        done = pos;
    }
    put_clean(stdout, text + done);
}

void render_message(const render_msgline *m) {
    int point = 0;
    char *saved = begin(&point);
    const char *base = m->hist ? col(C_DIM) : "";
    fputs(base, stdout);
    if (m->handle) fprintf(stdout, "%s#%u%s ", col(C_DIM), m->handle, m->hist ? "" : col(C_RESET));
    fprintf(stdout, "%s[", col(C_CYAN));
    put_clean(stdout, m->chan);
    fprintf(stdout, "]%s %s", m->hist ? "" : col(C_RESET), col(m->own ? C_GREEN : C_BOLD));
    put_clean(stdout, m->sender);
    fputs(m->hist ? "" : col(C_RESET), stdout);
    if (m->reply_to)
        fprintf(stdout, " (reply to #%u)", m->reply_to);
    else if (m->is_reply)
        fputs(" (reply)", stdout);
    fputs(": ", stdout);
    if (m->deleted) {
        fprintf(stdout, "%s(deleted)", col(C_DIM));
    } else {
        put_highlighted(m->text ? m->text : "", m->me, base);
        if (m->edited) fprintf(stdout, " %s(edited)%s", col(C_DIM), m->hist ? "" : col(C_RESET));
    }
    if (m->reactions && !m->deleted) {
        fputs("  [", stdout);
        put_clean(stdout, m->reactions);
        fputc(']', stdout);
    }
    if (m->replies > 0)
        fprintf(stdout, "  [%ld repl%s]", m->replies, m->replies == 1 ? "y" : "ies");
    end(saved, point);
}

void render_event(const char *chan, unsigned handle, const char *fmt, ...) {
    int point = 0;
    char *saved = begin(&point);
    char *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&text, fmt, ap) < 0) text = NULL;
    va_end(ap);
    fputs(col(C_YELLOW), stdout);
    if (handle) fprintf(stdout, "#%u ", handle);
    fputc('[', stdout);
    put_clean(stdout, chan);
    fputs("] * ", stdout);
    put_clean(stdout, text);
    free(text);
    end(saved, point);
}

void render_system(const char *chan, const char *text, int hist) {
    int point = 0;
    char *saved = begin(&point);
    fprintf(stdout, "%s[", col(hist ? C_DIM : C_YELLOW));
    put_clean(stdout, chan);
    fputs("] * ", stdout);
    put_clean(stdout, text);
    end(saved, point);
}

void render_receipt(const char *chan, const char *who) {
    int point = 0;
    char *saved = begin(&point);
    fprintf(stdout, "%s[", col(C_MAGENTA));
    put_clean(stdout, chan);
    fputs("] seen by ", stdout);
    put_clean(stdout, who);
    end(saved, point);
}

void render_presence(const char *who, const char *status) {
    int point = 0;
    char *saved = begin(&point);
    fprintf(stdout, "%s* ", col(C_BLUE));
    put_clean(stdout, who);
    fputs(" is now ", stdout);
    put_clean(stdout, status);
    end(saved, point);
}

static void vline(const char *color, const char *prefix, const char *fmt, va_list ap) {
    int point = 0;
    char *saved = begin(&point);
    char *text = NULL;
    if (vasprintf(&text, fmt, ap) < 0) text = NULL;
    fprintf(stdout, "%s%s", col(color), prefix);
    put_clean(stdout, text);
    free(text);
    end(saved, point);
}

void render_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vline(C_RED, "error: ", fmt, ap);
    va_end(ap);
}

void render_info(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vline("", "", fmt, ap);
    va_end(ap);
}

/* ---- line editor ---- */
static render_line_fn g_on_line;

/* Keeps typed lines in the editor's history (arrow up), then hands over.
 * libedit (unlike GNU readline) leaves the terminal in cooked mode after
 * a line and keeps the old text in its buffer, and its next read would
 * block for a whole line: installing the handler again restores
 * character-at-a-time input and shows a fresh prompt. */
static void line_typed(char *line) {
    if (line && *line) add_history(line);
    g_in_handler = 1;
    g_on_line(line);
    g_in_handler = 0;
    if (!g_editor) return;
    rl_replace_line("", 0);
    rl_callback_handler_install(g_prompt, line_typed);
}

/* ---- Tab completion ---- */
static render_complete_fn g_complete;
static char **g_cands; /* the candidates of the completion in progress */
static size_t g_cand_next;

void render_editor_set_completer(render_complete_fn fn) {
    g_complete = fn;
}

/* readline's generator: the candidates one by one (each malloc'd). */
static char *next_candidate(const char *text, int state) {
    (void)text;
    if (!state) g_cand_next = 0;
    if (!g_cands || !g_cands[g_cand_next]) return NULL;
    return strdup(g_cands[g_cand_next++]);
}

static char **attempt_completion(const char *text, int start, int end) {
    (void)end;
    rl_attempted_completion_over = 1; /* nothing of readline's own (file names) */
    if (!g_complete || !rl_line_buffer) return NULL;
    char *before = strndup(rl_line_buffer, (size_t)(start > 0 ? start : 0));
    g_cands = g_complete(before ? before : "", text);
    free(before);
    char **matches = g_cands ? rl_completion_matches(text, next_candidate) : NULL;
    for (size_t i = 0; g_cands && g_cands[i]; i++)
        free(g_cands[i]);
    free(g_cands);
    g_cands = NULL;
    return matches;
}

void render_editor_on(const char *prompt, render_line_fn on_line) {
    snprintf(g_prompt, sizeof g_prompt, "%s", prompt);
    g_on_line = on_line;
    rl_basic_word_break_characters = " \t"; /* "@bob" and "/join" are words */
    rl_attempted_completion_function = attempt_completion;
    rl_callback_handler_install(g_prompt, line_typed);
    g_editor = 1;
}

void render_editor_off(void) {
    if (!g_editor) return;
    g_editor = 0;
    rl_callback_handler_remove();
    fputc('\n', stdout);
    fflush(stdout);
}

void render_set_prompt(const char *prompt) {
    snprintf(g_prompt, sizeof g_prompt, "%s", prompt);
    if (!g_editor || g_in_handler) return; /* shown when the handler is reinstalled */
    rl_set_prompt(g_prompt);
    fputs("\r\033[K", stdout);
    fflush(stdout);
    rl_forced_update_display();
}

void render_editor_read(void) {
    if (g_editor) rl_callback_read_char();
}

const char *render_editor_text(void) {
    static char text[256]; /* enough to tell a command from a message */
    size_t n = g_editor && rl_line_buffer && rl_end > 0 ? (size_t)rl_end : 0;
    if (n >= sizeof text) n = sizeof text - 1;
    memcpy(text, n ? rl_line_buffer : "", n);
    text[n] = '\0';
    return text;
}
