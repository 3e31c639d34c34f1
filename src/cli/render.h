/*
 * render: everything the interactive `chat` client prints, in one place,
 * so that output looks consistent and never garbles the line being typed:
 * when the line editor is active, each print first clears the prompt line,
 * prints, then redraws the prompt with the partly typed text.
 *
 * Colour is used when stdout is a TTY and NO_COLOR is unset or empty
 * (https://no-color.org); each kind of line has its own colour, and
 * errors also carry an "error:" prefix so they stay distinct without it.
 * Text that came from the server has control characters replaced, so a
 * message cannot drive the user's terminal.
 *
 * Memory: no function keeps a pointer to its arguments.
 */
#ifndef CHAT_CLI_RENDER_H
#define CHAT_CLI_RENDER_H

/* color: 1 = on, 0 = off, -1 = decide from stdout/NO_COLOR. */
void render_init(int color);

/* Line editing: render_editor_on installs the readline callback handler
 * with prompt (the handler receives each typed line, malloc'd, or NULL on
 * EOF); render_editor_off removes it and restores the terminal. */
typedef void (*render_line_fn)(char *line);
void render_editor_on(const char *prompt, render_line_fn on_line);
void render_editor_off(void);
void render_set_prompt(const char *prompt);
/* Tab on the input line: fn gets the line before the word being
 * completed and that word, and returns the candidates as a malloc'd
 * NULL-terminated array of malloc'd strings (render frees it), or NULL.
 * Without one, Tab completes nothing (never file names). */
typedef char **(*render_complete_fn)(const char *before, const char *word);
void render_editor_set_completer(render_complete_fn fn);
/* Feeds the editor the bytes waiting on stdin. */
void render_editor_read(void);
/* The text typed so far on the input line ("" when the editor is off);
 * valid until the next editor call. */
const char *render_editor_text(void);

/* One message line:
 *   "#12 [chan] sender: text (edited)  [👍 2 🎉 1]  [3 replies]"
 *   "#13 [chan] sender (reply to #12): text"
 *   "#14 [chan] sender: (deleted)"
 * handle 0 prints no "#N"; own colours the sender as the user's own; hist
 * dims the line (history); @me in the text is highlighted (colour only). */
typedef struct render_msgline {
    const char *chan, *sender, *text;
    const char *me;    /* the user's name (for @me), or NULL */
    unsigned handle;   /* the message's handle, 0 for none */
    unsigned reply_to; /* the root's handle; 0 = not known or none */
    int is_reply;      /* a reply (with or without reply_to) */
    int own, hist, edited, deleted;
    const char *reactions; /* summary (fmt_reactions) or NULL */
    long replies;          /* reply count of a root */
} render_msgline;
void render_message(const render_msgline *m);
/* "#12 [chan] * text" about a message (handle 0: no "#N"), for changes:
 * deletions, reactions. */
void render_event(const char *chan, unsigned handle, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "[chan] * text" for a system notice. */
void render_system(const char *chan, const char *text, int hist);
/* "[chan] seen by who" */
void render_receipt(const char *chan, const char *who);
/* "who is now status" */
void render_presence(const char *who, const char *status);
/* "error: ..." */
void render_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Neutral information. */
void render_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
