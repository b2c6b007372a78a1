/* mcp/stdio.c — the stdio transport: newline-delimited JSON-RPC on two FILE streams.
 *
 * Only MCP messages are written to `out`, one per line, flushed at once so a client that
 * waits for a line never waits on our buffer. A line longer than the cap is skipped to
 * its end and answered with a parse error, and serving goes on.
 */
#include "mcp/mcp_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE    ((size_t)16 << 20)
#define FIRST_CHUNK ((size_t)64 << 10)

typedef struct stdio_out {
    FILE *out;
    bool failed; /* a write failed: the client is gone */
} stdio_out;

static void write_line(stdio_out *o, const char *json, size_t len)
{
    if (o->failed)
        return;
    if (fwrite(json, 1, len, o->out) != len || fputc('\n', o->out) == EOF || fflush(o->out) != 0)
        o->failed = true;
}

static void emit(void *user, const char *json, size_t len)
{
    write_line(user, json, len);
}

static bool blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return false;
    return true;
}

int mcp_stdio_serve(mcp_server *srv, FILE *in, FILE *out, volatile int *stop_flag)
{
    if (!srv || !in || !out)
        return -1;
    mcp_session *s = mcp_session_new(srv);
    if (!s)
        return -1;
    stdio_out o = {out, false};
    mcp__emitter em = {emit, &o, NULL, NULL, NULL};
    mcp_call tc = {0};
    tc.transport = &em;
    char *buf = NULL;
    size_t cap = 0;
    int rc = 0;
    while (!(stop_flag && *stop_flag) && !o.failed) {
        size_t len = 0;
        bool too_long = false;
        int ch;
        while ((ch = getc(in)) != EOF && ch != '\n') {
            if (too_long)
                continue;
            if (len == MAX_LINE) {
                too_long = true;
                continue;
            }
            if (len == cap) {
                size_t ncap = cap ? cap * 2 : FIRST_CHUNK;
                if (ncap > MAX_LINE)
                    ncap = MAX_LINE;
                char *nb = realloc(buf, ncap);
                if (!nb) {
                    too_long = true; /* answered like an oversized line */
                    continue;
                }
                buf = nb;
                cap = ncap;
            }
            buf[len++] = (char)ch;
        }
        if (ch == EOF && len == 0 && !too_long) {
            rc = ferror(in) ? -1 : 0;
            break;
        }
        if (too_long) {
            cJSON *e = mcp__error_response(NULL, MCP__PARSE_ERROR,
                                           "parse error: message longer than 16 MiB", NULL);
            char *text = e ? cJSON_PrintUnformatted(e) : NULL;
            cJSON_Delete(e);
            if (text)
                write_line(&o, text, strlen(text));
            free(text);
        } else if (!blank(buf, len)) {
            char *resp = mcp_handle_message(srv, s, buf, len, &tc);
            if (resp)
                write_line(&o, resp, strlen(resp));
            free(resp);
        }
        if (ch == EOF) {
            rc = ferror(in) ? -1 : 0;
            break;
        }
    }
    if (o.failed)
        rc = -1;
    free(buf);
    mcp_session_free(s);
    return rc;
}
