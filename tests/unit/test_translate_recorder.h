/* tests/unit/test_translate_recorder.h — a recording sink for tr__ingest_with_sink: copies
 * every batch it is given into text (stacks, attributes) so tests can assert exactly what
 * translate/ emits, without a window store. Included by test_translate_*.c only. */
#ifndef OTELPROFD_TEST_TRANSLATE_RECORDER_H
#define OTELPROFD_TEST_TRANSLATE_RECORDER_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "translate/translate_internal.h"

typedef struct rec_obs {
    char *stack; /* "fn(file:line);...;0xaddr(mapping#buildid)", leaf first */
    char *attrs; /* "k=v,k=v" */
    int has_link;
    uint8_t trace[16], span[8];
    int64_t value, time_ns;
} rec_obs;

typedef struct rec_batch {
    char *type;
    char *resource; /* "k=v,k=v" */
    uint32_t n;
    rec_obs *obs;
    int64_t total;
} rec_batch;

typedef struct recorder {
    rec_batch b[64];
    size_t n;
    int fail_calls; /* sink calls to fail (from the first), to test store errors */
    int bad_index;  /* set when a batch carried an out-of-range index */
} recorder;

static char *rec_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (!p)
        abort();
    memcpy(p, s, n);
    return p;
}

static void rec_append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = realloc(*buf, *cap);
        if (!*buf)
            abort();
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

static char *rec_attrs(const win_attr *a, uint32_t n)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    rec_append(&buf, &len, &cap, "");
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            rec_append(&buf, &len, &cap, ",");
        rec_append(&buf, &len, &cap, a[i].key);
        rec_append(&buf, &len, &cap, "=");
        rec_append(&buf, &len, &cap, a[i].value);
    }
    return buf;
}

static char *rec_stack(const win_batch *b, uint32_t si, recorder *r)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    rec_append(&buf, &len, &cap, "");
    const win_stack_in *s = &b->stacks[si];
    for (uint32_t k = 0; k < s->depth; k++) {
        if (s->frames[k] >= b->n_frames) {
            r->bad_index = 1;
            continue;
        }
        const win_frame_in *f = &b->frames[s->frames[k]];
        char tmp[1024];
        if (f->function && *f->function)
            snprintf(tmp, sizeof tmp, "%s(%s:%" PRId64 ")", f->function, f->file ? f->file : "",
                     f->line);
        else
            snprintf(tmp, sizeof tmp, "0x%" PRIx64 "(%s#%s)", f->address,
                     f->mapping ? f->mapping : "", f->build_id ? f->build_id : "");
        if (k)
            rec_append(&buf, &len, &cap, ";");
        rec_append(&buf, &len, &cap, tmp);
    }
    return buf;
}

static int rec_sink(void *ctx, const win_batch *b, win_add_result *added, char *err, size_t err_len)
{
    recorder *r = ctx;
    if (r->fail_calls > 0) {
        r->fail_calls--;
        snprintf(err, err_len, "store says no");
        return -1;
    }
    if (r->n == sizeof r->b / sizeof r->b[0])
        abort();
    rec_batch *rb = &r->b[r->n++];
    rb->type = rec_strdup(b->profile_type);
    rb->resource = rec_attrs(b->resource, b->n_resource);
    rb->n = b->n_samples;
    rb->obs = calloc(b->n_samples ? b->n_samples : 1, sizeof *rb->obs);
    rb->total = 0;
    for (uint32_t i = 0; i < b->n_samples; i++) {
        const win_sample_in *s = &b->samples[i];
        rec_obs *o = &rb->obs[i];
        if (s->stack >= b->n_stacks) {
            r->bad_index = 1;
            o->stack = rec_strdup("?");
        } else {
            o->stack = rec_stack(b, s->stack, r);
        }
        o->attrs = rec_attrs(s->attrs, s->n_attrs);
        o->has_link = s->trace_id != NULL;
        if (s->trace_id)
            memcpy(o->trace, s->trace_id, 16);
        if (s->span_id)
            memcpy(o->span, s->span_id, 8);
        o->value = s->value;
        o->time_ns = s->time_ns;
        rb->total = (int64_t)((uint64_t)rb->total + (uint64_t)s->value); /* may wrap */
    }
    added->samples_stored = b->n_samples;
    added->samples_too_old = 0;
    added->samples_too_new = 0;
    return 0;
}

static void rec_free(recorder *r)
{
    for (size_t i = 0; i < r->n; i++) {
        for (uint32_t k = 0; k < r->b[i].n; k++) {
            free(r->b[i].obs[k].stack);
            free(r->b[i].obs[k].attrs);
        }
        free(r->b[i].obs);
        free(r->b[i].type);
        free(r->b[i].resource);
    }
    memset(r, 0, sizeof *r);
}

#endif
