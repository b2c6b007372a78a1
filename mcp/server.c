/* mcp/server.c — registries, sessions and JSON-RPC dispatch of the MCP server (see mcp.h).
 *
 * Everything here is transport-independent: a transport parses nothing itself, it hands
 * text (mcp_handle_message) or a parsed value (mcp__handle_json) in and gets the answer
 * back, and passes an mcp__emitter for the notifications handlers send meanwhile.
 */
#include "mcp/mcp_internal.h"

#include <ctype.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

/* cJSON's allocations go through base_hook_malloc, so a parse that failed for want of
 * memory is told from malformed text (base_alloc_failed). Installed before main: hooks are
 * a global of cJSON, and setting them while another thread parses would race. */
__attribute__((constructor)) static void json_hooks_install(void)
{
    cJSON_Hooks hooks = {base_hook_malloc, free};
    cJSON_InitHooks(&hooks);
}

#define MAX_ENTRIES     256 /* tools, resources, prompts, completions: each */
#define MAX_NAME        128
#define MAX_COMPLETIONS 100 /* values per completion/complete answer (spec) */
#define ERR_LEN         1024
#define MAX_SUBS        64 /* subscribed URIs per session */
#define MAX_URI         2048
#define MAX_PENDING     16 /* requests to the client waiting at once, per session */

static const char *const k_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26"};

/* RFC 5424 severities, least severe first */
static const char *const k_levels[] = {"debug", "info",     "notice", "warning",
                                       "error", "critical", "alert",  "emergency"};
#define N_LEVELS      (sizeof k_levels / sizeof k_levels[0])
#define DEFAULT_LEVEL 3 /* "warning": chatter stays off until a client asks for it */

typedef struct tool_ent {
    char *name, *title, *description;
    cJSON *input_schema, *output_schema;
    cJSON *listed_schema; /* inputSchema as tools/list shows it (shared descriptions), or NULL */
    bool read_only, idempotent, open_world;
    mcp_tool_fn fn;
    void *user;
} tool_ent;

typedef struct resource_ent {
    char *uri, *name, *title, *description, *mime_type;
    bool is_template;
    mcp_resource_fn fn;
    void *user;
} resource_ent;

typedef struct prompt_ent {
    char *name, *title, *description;
    mcp_prompt_arg *args; /* strings owned */
    size_t n_args;
    mcp_prompt_fn fn;
    mcp_complete_fn complete;
    void *user;
} prompt_ent;

typedef struct rcomp_ent {
    char *uri_template;
    mcp_complete_fn fn;
    void *user;
} rcomp_ent;

struct mcp_server {
    char *name, *title, *version, *instructions;
    bool resources_subscribe;
    bool repeat_param_descriptions;
    tool_ent tools[MAX_ENTRIES];
    size_t n_tools;
    resource_ent resources[MAX_ENTRIES];
    size_t n_resources;
    prompt_ent prompts[MAX_ENTRIES];
    size_t n_prompts;
    rcomp_ent rcomps[MAX_ENTRIES];
    size_t n_rcomps;
};

struct mcp_session {
    pthread_mutex_t mu;
    bool initialized;
    char version[16];
    size_t log_level;
    char *subs[MAX_SUBS]; /* resources/subscribe URIs */
    size_t n_subs;
    /* what the client declared it can answer (initialize params.capabilities) */
    bool client_sampling, client_elicitation, client_roots;
    /* requests to the client awaiting their response; cv signals an arrival */
    struct pending {
        bool used, done;
        char id[24];
        cJSON *resp;
    } pend[MAX_PENDING];
    pthread_cond_t cv;
    unsigned next_id;
    bool cancelled;
};

/* What a handler's mcp_call points into: the public part first, so the library's progress
 * and log functions can find the request's token, session and emitter again. */
typedef struct call_ctx {
    mcp_call pub;
    mcp_server *srv;
    mcp_session *s;
    const mcp__emitter *em;
    const cJSON *progress_token;
    char version[16];
    size_t log_threshold; /* k_levels index; N_LEVELS: no notifications/message at all */
    /* 2026-07-28 */
    bool modern;
    const char *method, *target; /* the request's method and tool/prompt name or URI */
    cJSON *input_requests;       /* set by mcp_input_required */
    char *state_out;             /* likewise (plain; signed when answered) */
    bool input_required;
    char missing_cap[32]; /* set by mcp_missing_capability */
    char *state_in;       /* the verified requestState of a retry */
} call_ctx;

typedef struct rpc_err {
    int code;
    char message[ERR_LEN];
    cJSON *data;
} rpc_err;

static void set_err(rpc_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_err(rpc_err *e, int code, const char *fmt, ...)
{
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- small shared helpers ----------------------------------------------------------- */

bool mcp__version_supported(const char *v)
{
    if (!v)
        return false;
    for (size_t i = 0; i < sizeof k_versions / sizeof k_versions[0]; i++)
        if (strcmp(v, k_versions[i]) == 0)
            return true;
    return false;
}

cJSON *mcp__parse(const char *text, size_t len)
{
    /* cJSON reads up to a NUL: a private terminated copy keeps it inside the buffer.
     * NULL means malformed, or out of memory when base_alloc_failed() says so. */
    base_alloc_failed_reset();
    char *copy = base_hook_malloc(len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, text, len);
    copy[len] = '\0';
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(copy, len + 1, &end, false);
    if (v && end) {
        for (const char *p = end; p < copy + len; p++) {
            if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
                cJSON_Delete(v);
                v = NULL;
                break;
            }
        }
    }
    free(copy);
    return v;
}

cJSON *mcp__error_response(const cJSON *id, int code, const char *message, cJSON *data)
{
    cJSON *r = cJSON_CreateObject();
    if (!r) {
        cJSON_Delete(data);
        return NULL;
    }
    cJSON_AddStringToObject(r, "jsonrpc", "2.0");
    if (id)
        mcp_json_add(r, "id", cJSON_Duplicate(id, true));
    else
        cJSON_AddNullToObject(r, "id");
    cJSON *e = cJSON_AddObjectToObject(r, "error");
    if (e) {
        cJSON_AddNumberToObject(e, "code", code);
        cJSON_AddStringToObject(e, "message", message);
        if (data)
            mcp_json_add(e, "data", data);
        else
            cJSON_Delete(data);
    } else {
        cJSON_Delete(data);
    }
    return r;
}

static bool valid_tool_name(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > MAX_NAME)
        return false;
    for (const char *p = n; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
            return false;
    return true;
}

static const char *str_item(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---- server and registration --------------------------------------------------------- */

mcp_server *mcp_server_new(const mcp_server_info *info)
{
    if (!info || !info->name || !info->version)
        return NULL;
    mcp_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return NULL;
    srv->name = strdup(info->name);
    srv->title = dup_or_null(info->title);
    srv->version = strdup(info->version);
    srv->instructions = dup_or_null(info->instructions);
    srv->resources_subscribe = info->resources_subscribe;
    srv->repeat_param_descriptions = info->repeat_param_descriptions;
    if (!srv->name || !srv->version || (info->title && !srv->title) ||
        (info->instructions && !srv->instructions)) {
        mcp_server_free(srv);
        return NULL;
    }
    return srv;
}

void mcp_server_free(mcp_server *srv)
{
    if (!srv)
        return;
    for (size_t i = 0; i < srv->n_tools; i++) {
        tool_ent *t = &srv->tools[i];
        free(t->name);
        free(t->title);
        free(t->description);
        cJSON_Delete(t->input_schema);
        cJSON_Delete(t->listed_schema);
        cJSON_Delete(t->output_schema);
    }
    for (size_t i = 0; i < srv->n_resources; i++) {
        resource_ent *r = &srv->resources[i];
        free(r->uri);
        free(r->name);
        free(r->title);
        free(r->description);
        free(r->mime_type);
    }
    for (size_t i = 0; i < srv->n_prompts; i++) {
        prompt_ent *p = &srv->prompts[i];
        free(p->name);
        free(p->title);
        free(p->description);
        for (size_t j = 0; j < p->n_args; j++) {
            free((char *)p->args[j].name);
            free((char *)p->args[j].description);
        }
        free(p->args);
    }
    for (size_t i = 0; i < srv->n_rcomps; i++)
        free(srv->rcomps[i].uri_template);
    free(srv->name);
    free(srv->title);
    free(srv->version);
    free(srv->instructions);
    free(srv);
}

static cJSON *parse_object_schema(const char *text, const char *what, const char *tool)
{
    cJSON *s = mcp__parse(text, strlen(text));
    if (!cJSON_IsObject(s)) {
        base_log(BASE_LOG_ERROR, "mcp: tool %s: %s is not a JSON object", tool, what);
        cJSON_Delete(s);
        return NULL;
    }
    const char *type = str_item(s, "type");
    if (!type || strcmp(type, "object") != 0) {
        base_log(BASE_LOG_ERROR, "mcp: tool %s: %s must have \"type\": \"object\"", tool, what);
        cJSON_Delete(s);
        return NULL;
    }
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(s, "properties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(s, "required");
    if ((props && !cJSON_IsObject(props)) || (req && !cJSON_IsArray(req))) {
        base_log(BASE_LOG_ERROR, "mcp: tool %s: %s has malformed properties/required", tool, what);
        cJSON_Delete(s);
        return NULL;
    }
    return s;
}

#define SHARED_MIN 60 /* descriptions shorter than this are repeated: a reference saves little */

/* tools/list carries every tool's inputSchema, and common parameters (a selector, a time
 * range) repeat the same long description in each. The first tool that has a parameter
 * keeps its description whole; a later tool with the same parameter and the same text
 * shows its first sentence and where the rest is ("Required. As in query_profile_table.").
 * Returns the listed copy, or NULL when nothing is shared (list the schema as it is). */
static cJSON *share_descriptions(const mcp_server *srv, const tool_ent *t)
{
    cJSON *copy = NULL;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(t->input_schema, "properties"))
    {
        const char *d = str_item(p, "description");
        if (!d || strlen(d) < SHARED_MIN || !p->string)
            continue;
        const tool_ent *first = NULL;
        for (size_t i = 0; i < srv->n_tools && !first; i++) {
            const cJSON *props =
                cJSON_GetObjectItemCaseSensitive(srv->tools[i].input_schema, "properties");
            const char *od =
                str_item(cJSON_GetObjectItemCaseSensitive(props, p->string), "description");
            if (od && strcmp(od, d) == 0)
                first = &srv->tools[i];
        }
        if (!first)
            continue;
        if (!copy && !(copy = cJSON_Duplicate(t->input_schema, true)))
            return NULL;
        const char *dot = strstr(d, ". ");
        int lead = dot ? (int)(dot - d) + 1 : 0;
        if (lead > 80)
            lead = 0; /* a long first sentence is most of the text: refer to all of it */
        char buf[MAX_NAME + 128];
        snprintf(buf, sizeof buf, "%.*s%sAs in %s.", lead, d, lead ? " " : "", first->name);
        if (strlen(buf) + 16 >= strlen(d))
            continue; /* the reference would save next to nothing */
        cJSON *cp = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(copy, "properties"), p->string);
        cJSON_ReplaceItemInObjectCaseSensitive(cp, "description", cJSON_CreateString(buf));
    }
    return copy;
}

int mcp_server_add_tool(mcp_server *srv, const mcp_tool_def *def)
{
    if (!srv || !def || !def->name || !def->fn || !def->input_schema ||
        !valid_tool_name(def->name) || srv->n_tools >= MAX_ENTRIES)
        return -1;
    for (size_t i = 0; i < srv->n_tools; i++)
        if (strcmp(srv->tools[i].name, def->name) == 0)
            return -1;
    tool_ent t = {0};
    t.input_schema = parse_object_schema(def->input_schema, "inputSchema", def->name);
    if (!t.input_schema)
        return -1;
    if (def->output_schema) {
        t.output_schema = parse_object_schema(def->output_schema, "outputSchema", def->name);
        if (!t.output_schema) {
            cJSON_Delete(t.input_schema);
            return -1;
        }
    }
    t.name = strdup(def->name);
    t.title = dup_or_null(def->title);
    t.description = dup_or_null(def->description);
    if (!t.name || (def->title && !t.title) || (def->description && !t.description)) {
        free(t.name);
        free(t.title);
        free(t.description);
        cJSON_Delete(t.input_schema);
        cJSON_Delete(t.output_schema);
        return -1;
    }
    if (!srv->repeat_param_descriptions)
        t.listed_schema = share_descriptions(srv, &t);
    t.read_only = def->read_only;
    t.idempotent = def->idempotent;
    t.open_world = def->open_world;
    t.fn = def->fn;
    t.user = def->user;
    srv->tools[srv->n_tools++] = t;
    return 0;
}

bool mcp_json_add(cJSON *obj, const char *key, cJSON *item)
{
    if (obj && item && cJSON_AddItemToObject(obj, key, item))
        return true;
    cJSON_Delete(item);
    return false;
}

bool mcp_json_push(cJSON *array, cJSON *item)
{
    if (array && item && cJSON_AddItemToArray(array, item))
        return true;
    cJSON_Delete(item);
    return false;
}

void mcp_tool_error(mcp_tool_result *out, const char *fmt, ...)
{
    if (!out)
        return;
    free(out->text);
    out->text = NULL;
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    if (vasprintf(&text, fmt, ap) < 0)
        text = NULL;
    va_end(ap);
    out->text = text;
    out->is_error = true;
}

int mcp_server_add_resource(mcp_server *srv, const mcp_resource_def *def)
{
    if (!srv || !def || !def->uri || !*def->uri || !def->name || !def->fn ||
        srv->n_resources >= MAX_ENTRIES)
        return -1;
    for (size_t i = 0; i < srv->n_resources; i++)
        if (strcmp(srv->resources[i].uri, def->uri) == 0)
            return -1;
    resource_ent r = {0};
    r.uri = strdup(def->uri);
    r.name = strdup(def->name);
    r.title = dup_or_null(def->title);
    r.description = dup_or_null(def->description);
    r.mime_type = dup_or_null(def->mime_type);
    if (!r.uri || !r.name || (def->title && !r.title) || (def->description && !r.description) ||
        (def->mime_type && !r.mime_type)) {
        free(r.uri);
        free(r.name);
        free(r.title);
        free(r.description);
        free(r.mime_type);
        return -1;
    }
    r.is_template = def->is_template;
    r.fn = def->fn;
    r.user = def->user;
    srv->resources[srv->n_resources++] = r;
    return 0;
}

int mcp_server_add_prompt(mcp_server *srv, const mcp_prompt_def *def)
{
    if (!srv || !def || !def->name || !*def->name || strlen(def->name) > MAX_NAME || !def->fn ||
        srv->n_prompts >= MAX_ENTRIES || def->n_args > 64 || (def->n_args && !def->args))
        return -1;
    for (size_t i = 0; i < srv->n_prompts; i++)
        if (strcmp(srv->prompts[i].name, def->name) == 0)
            return -1;
    prompt_ent p = {0};
    bool ok = true;
    p.name = strdup(def->name);
    p.title = dup_or_null(def->title);
    p.description = dup_or_null(def->description);
    ok = p.name && (!def->title || p.title) && (!def->description || p.description);
    if (ok && def->n_args) {
        p.args = calloc(def->n_args, sizeof *p.args);
        ok = p.args != NULL;
        for (size_t j = 0; ok && j < def->n_args; j++) {
            if (!def->args[j].name) {
                ok = false;
                break;
            }
            p.n_args = j + 1;
            p.args[j].name = strdup(def->args[j].name);
            p.args[j].description = dup_or_null(def->args[j].description);
            p.args[j].required = def->args[j].required;
            ok = p.args[j].name && (!def->args[j].description || p.args[j].description);
        }
    }
    if (!ok) {
        for (size_t j = 0; j < p.n_args; j++) {
            free((char *)p.args[j].name);
            free((char *)p.args[j].description);
        }
        free(p.args);
        free(p.name);
        free(p.title);
        free(p.description);
        return -1;
    }
    p.fn = def->fn;
    p.complete = def->complete;
    p.user = def->user;
    srv->prompts[srv->n_prompts++] = p;
    return 0;
}

int mcp_server_set_resource_completion(mcp_server *srv, const char *uri_template,
                                       mcp_complete_fn fn, void *user)
{
    if (!srv || !uri_template || !fn || srv->n_rcomps >= MAX_ENTRIES)
        return -1;
    rcomp_ent c = {strdup(uri_template), fn, user};
    if (!c.uri_template)
        return -1;
    srv->rcomps[srv->n_rcomps++] = c;
    return 0;
}

/* ---- sessions --------------------------------------------------------------------------- */

mcp_session *mcp_session_new(mcp_server *srv)
{
    (void)srv;
    mcp_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s);
        return NULL;
    }
    if (pthread_cond_init(&s->cv, NULL) != 0) {
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    s->log_level = DEFAULT_LEVEL;
    return s;
}

void mcp_session_free(mcp_session *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_subs; i++)
        free(s->subs[i]);
    for (size_t i = 0; i < MAX_PENDING; i++)
        cJSON_Delete(s->pend[i].resp);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void mcp__session_cancel(mcp_session *s)
{
    pthread_mutex_lock(&s->mu);
    s->cancelled = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* A response from the client: hands it to the request waiting for that id (else dropped:
 * it timed out, or the id was never ours). */
static void deliver_response(mcp_session *s, const cJSON *msg)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    if (!s || !cJSON_IsString(id))
        return;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < MAX_PENDING; i++) {
        struct pending *p = &s->pend[i];
        if (p->used && !p->done && strcmp(p->id, id->valuestring) == 0) {
            p->resp = cJSON_Duplicate(msg, true);
            p->done = true;
            pthread_cond_broadcast(&s->cv);
            break;
        }
    }
    pthread_mutex_unlock(&s->mu);
}

const char *mcp__session_version(mcp_session *s, char *buf, size_t buf_len)
{
    pthread_mutex_lock(&s->mu);
    snprintf(buf, buf_len, "%s", s->version);
    pthread_mutex_unlock(&s->mu);
    return buf;
}

bool mcp__session_initialized(mcp_session *s)
{
    pthread_mutex_lock(&s->mu);
    bool v = s->initialized;
    pthread_mutex_unlock(&s->mu);
    return v;
}

/* ---- notifications from handlers ----------------------------------------------------------- */

static void emit_notification(call_ctx *c, const char *method, cJSON *params)
{
    cJSON *n = cJSON_CreateObject();
    if (!n) {
        cJSON_Delete(params);
        return;
    }
    cJSON_AddStringToObject(n, "jsonrpc", "2.0");
    cJSON_AddStringToObject(n, "method", method);
    mcp_json_add(n, "params", params);
    char *text = cJSON_PrintUnformatted(n);
    cJSON_Delete(n);
    if (text) {
        c->em->emit(c->em->user, text, strlen(text));
        free(text);
    }
}

static void call_progress(mcp_call *call, double progress, double total, const char *message)
{
    call_ctx *c = (call_ctx *)call;
    if (!c->progress_token || !c->em || !c->em->emit || !isfinite(progress))
        return;
    cJSON *p = cJSON_CreateObject();
    if (!p)
        return;
    mcp_json_add(p, "progressToken", cJSON_Duplicate(c->progress_token, true));
    cJSON_AddNumberToObject(p, "progress", progress);
    if (total > 0 && isfinite(total))
        cJSON_AddNumberToObject(p, "total", total);
    if (message)
        cJSON_AddStringToObject(p, "message", message);
    emit_notification(c, "notifications/progress", p);
}

static int level_index(const char *level)
{
    for (size_t i = 0; level && i < N_LEVELS; i++)
        if (strcmp(level, k_levels[i]) == 0)
            return (int)i;
    return -1;
}

static void call_log(mcp_call *call, const char *level, const char *message)
{
    call_ctx *c = (call_ctx *)call;
    if (!c->em || !c->em->emit || !message)
        return;
    int li = level_index(level);
    if (li < 0)
        li = 1; /* an unknown level is treated as info rather than dropped or escalated */
    if ((size_t)li < c->log_threshold)
        return;
    cJSON *p = cJSON_CreateObject();
    if (!p)
        return;
    cJSON_AddStringToObject(p, "level", k_levels[li]);
    cJSON_AddStringToObject(p, "logger", c->srv->name);
    cJSON_AddStringToObject(p, "data", message);
    emit_notification(c, "notifications/message", p);
}

static cJSON *call_request(mcp_call *call, const char *method, cJSON *params, int timeout_ms,
                           char *err, size_t err_len)
{
    call_ctx *c = (call_ctx *)call;
    mcp_session *s = c->s;
    if (c->modern) {
        cJSON_Delete(params);
        snprintf(err, err_len,
                 "protocol %s has no requests to the client: answer with mcp_input_required",
                 MCP__VERSION_MODERN);
        return NULL;
    }
    if (!method || (params && !cJSON_IsObject(params))) {
        cJSON_Delete(params);
        snprintf(err, err_len, "internal error: a request needs a method and object params");
        return NULL;
    }
    if (!s || !c->em || !c->em->emit || !c->em->go_live) {
        cJSON_Delete(params);
        snprintf(err, err_len, "this transport cannot send %s to the client", method);
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    const char *missing = NULL;
    if (strncmp(method, "sampling/", 9) == 0 && !s->client_sampling)
        missing = "sampling";
    else if (strncmp(method, "elicitation/", 12) == 0 && !s->client_elicitation)
        missing = "elicitation";
    else if (strncmp(method, "roots/", 6) == 0 && !s->client_roots)
        missing = "roots";
    struct pending *p = NULL;
    for (size_t i = 0; !missing && !p && i < MAX_PENDING; i++)
        if (!s->pend[i].used)
            p = &s->pend[i];
    if (p) {
        *p = (struct pending){.used = true};
        snprintf(p->id, sizeof p->id, "s2c-%u", ++s->next_id);
    }
    bool cancelled = s->cancelled;
    pthread_mutex_unlock(&s->mu);
    if (missing || !p || cancelled) {
        cJSON_Delete(params);
        if (missing)
            snprintf(err, err_len, "the client did not declare the %s capability", missing);
        else if (cancelled)
            snprintf(err, err_len, "server stopping");
        else
            snprintf(err, err_len, "too many requests to the client at once (at most %d)",
                     MAX_PENDING);
        if (p) {
            pthread_mutex_lock(&s->mu);
            p->used = false;
            pthread_mutex_unlock(&s->mu);
        }
        return NULL;
    }
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "jsonrpc", "2.0");
    cJSON_AddStringToObject(req, "id", p->id);
    cJSON_AddStringToObject(req, "method", method);
    if (params)
        mcp_json_add(req, "params", params);
    char *text = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    cJSON *resp = NULL;
    bool live = text && c->em->go_live(c->em->user);
    if (live) {
        c->em->emit(c->em->user, text, strlen(text));
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        if (timeout_ms < 0)
            timeout_ms = 0;
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&s->mu);
        while (!p->done && !s->cancelled)
            if (pthread_cond_timedwait(&s->cv, &s->mu, &until) != 0)
                break;
        resp = p->resp;
        cancelled = s->cancelled;
        *p = (struct pending){0};
        pthread_mutex_unlock(&s->mu);
    } else {
        pthread_mutex_lock(&s->mu);
        *p = (struct pending){0};
        pthread_mutex_unlock(&s->mu);
    }
    free(text);
    if (!resp) {
        snprintf(
            err, err_len, "%s",
            !live
                ? "the client's connection cannot carry requests (it must accept text/event-stream)"
            : cancelled ? "server stopping"
                        : "the client did not answer in time");
        return NULL;
    }
    cJSON *result = cJSON_DetachItemFromObjectCaseSensitive(resp, "result");
    if (!cJSON_IsObject(result)) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(resp, "error");
        const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "message"));
        snprintf(err, err_len, "the client answered %s with an error: %.200s", method,
                 m ? m : "(no message)");
        cJSON_Delete(result);
        result = NULL;
    }
    cJSON_Delete(resp);
    return result;
}

/* ---- lifecycle, ping, logging ------------------------------------------------------------ */

static cJSON *m_initialize(call_ctx *c, const cJSON *params, rpc_err *e, mcp__outcome *oc)
{
    const char *asked = str_item(params, "protocolVersion");
    if (!asked) {
        set_err(e, MCP__INVALID_PARAMS,
                "initialize needs params.protocolVersion (a string such as \"%s\")",
                MCP__VERSION_LATEST);
        return NULL;
    }
    const char *v = mcp__version_supported(asked) ? asked : MCP__VERSION_LATEST;
    mcp_server *srv = c->srv;
    if (c->s && mcp__session_initialized(c->s)) {
        set_err(e, MCP__INVALID_REQUEST,
                "already initialized: this session negotiated its version once; start a new "
                "session (HTTP) or a new process (stdio) to initialize again");
        return NULL;
    }
    cJSON *r = cJSON_CreateObject();
    if (!r) {
        set_err(e, MCP__INTERNAL_ERROR, "out of memory");
        return NULL;
    }
    cJSON_AddStringToObject(r, "protocolVersion", v);
    cJSON *caps = cJSON_AddObjectToObject(r, "capabilities");
    cJSON *tools = cJSON_AddObjectToObject(caps, "tools");
    cJSON_AddBoolToObject(tools, "listChanged", false);
    cJSON *res = cJSON_AddObjectToObject(caps, "resources");
    cJSON_AddBoolToObject(res, "subscribe", srv->resources_subscribe);
    cJSON_AddBoolToObject(res, "listChanged", false);
    cJSON *prompts = cJSON_AddObjectToObject(caps, "prompts");
    cJSON_AddBoolToObject(prompts, "listChanged", false);
    cJSON_AddObjectToObject(caps, "logging");
    cJSON_AddObjectToObject(caps, "completions");
    cJSON *info = cJSON_AddObjectToObject(r, "serverInfo");
    cJSON_AddStringToObject(info, "name", srv->name);
    if (srv->title)
        cJSON_AddStringToObject(info, "title", srv->title);
    cJSON_AddStringToObject(info, "version", srv->version);
    if (srv->instructions)
        cJSON_AddStringToObject(r, "instructions", srv->instructions);
    if (c->s) {
        pthread_mutex_lock(&c->s->mu);
        snprintf(c->s->version, sizeof c->s->version, "%s", v);
        c->s->initialized = true;
        const cJSON *cc = cJSON_GetObjectItemCaseSensitive(params, "capabilities");
        c->s->client_sampling = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(cc, "sampling"));
        c->s->client_elicitation =
            cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(cc, "elicitation"));
        c->s->client_roots = cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(cc, "roots"));
        pthread_mutex_unlock(&c->s->mu);
    }
    oc->initialized = true;
    return r;
}

static cJSON *m_set_level(call_ctx *c, const cJSON *params, rpc_err *e)
{
    const char *level = str_item(params, "level");
    int li = level_index(level);
    if (li < 0) {
        set_err(e, MCP__INVALID_PARAMS,
                "params.level must be one of debug, info, notice, warning, error, critical, "
                "alert, emergency");
        return NULL;
    }
    if (c->s) {
        pthread_mutex_lock(&c->s->mu);
        c->s->log_level = (size_t)li;
        pthread_mutex_unlock(&c->s->mu);
    }
    return cJSON_CreateObject();
}

/* Pagination: everything fits one page, so no cursor of ours exists to be handed back. */
static bool check_no_cursor(const cJSON *params, rpc_err *e)
{
    const cJSON *cur = cJSON_GetObjectItemCaseSensitive(params, "cursor");
    if (cur && !cJSON_IsNull(cur)) {
        set_err(e, MCP__INVALID_PARAMS,
                "invalid cursor: this server returns every item in one page");
        return false;
    }
    return true;
}

/* ---- tools ---------------------------------------------------------------------------------- */

static cJSON *m_tools_list(call_ctx *c, const cJSON *params, rpc_err *e)
{
    if (!check_no_cursor(params, e))
        return NULL;
    cJSON *r = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(r, "tools");
    if (!arr) {
        cJSON_Delete(r);
        set_err(e, MCP__INTERNAL_ERROR, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < c->srv->n_tools; i++) {
        const tool_ent *t = &c->srv->tools[i];
        cJSON *o = cJSON_CreateObject();
        if (!mcp_json_push(arr, o))
            o = NULL; /* deleted: what follows adds to nothing */
        cJSON_AddStringToObject(o, "name", t->name);
        if (t->title)
            cJSON_AddStringToObject(o, "title", t->title);
        if (t->description)
            cJSON_AddStringToObject(o, "description", t->description);
        mcp_json_add(o, "inputSchema",
                     cJSON_Duplicate(t->listed_schema ? t->listed_schema : t->input_schema, true));
        if (t->output_schema)
            mcp_json_add(o, "outputSchema", cJSON_Duplicate(t->output_schema, true));
        cJSON *an = cJSON_AddObjectToObject(o, "annotations");
        if (t->title)
            cJSON_AddStringToObject(an, "title", t->title);
        cJSON_AddBoolToObject(an, "readOnlyHint", t->read_only);
        cJSON_AddBoolToObject(an, "destructiveHint", false);
        cJSON_AddBoolToObject(an, "idempotentHint", t->idempotent);
        cJSON_AddBoolToObject(an, "openWorldHint", t->open_world);
    }
    return r;
}

/* Describes a JSON value briefly for an error message: strings and numbers as written,
 * containers by kind. */
static void describe_value(const cJSON *v, char *buf, size_t len)
{
    if (cJSON_IsObject(v)) {
        snprintf(buf, len, "an object");
    } else if (cJSON_IsArray(v)) {
        snprintf(buf, len, "an array");
    } else if (cJSON_IsNull(v)) {
        snprintf(buf, len, "null");
    } else if (cJSON_IsBool(v)) {
        snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
    } else if (cJSON_IsString(v)) {
        size_t n = strlen(v->valuestring);
        snprintf(buf, len, "the string \"%.40s%s\"", v->valuestring, n > 40 ? "..." : "");
    } else {
        snprintf(buf, len, "%.17g", v->valuedouble);
    }
}

static bool is_integer(const cJSON *v)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble == floor(v->valuedouble);
}

static bool type_matches(const char *type, const cJSON *v)
{
    if (strcmp(type, "string") == 0)
        return cJSON_IsString(v);
    if (strcmp(type, "number") == 0)
        return cJSON_IsNumber(v);
    if (strcmp(type, "integer") == 0)
        return is_integer(v);
    if (strcmp(type, "boolean") == 0)
        return cJSON_IsBool(v);
    if (strcmp(type, "object") == 0)
        return cJSON_IsObject(v);
    if (strcmp(type, "array") == 0)
        return cJSON_IsArray(v);
    if (strcmp(type, "null") == 0)
        return cJSON_IsNull(v);
    return true; /* a type we do not know is not ours to refuse */
}

static const char *type_words(const char *type)
{
    if (strcmp(type, "integer") == 0)
        return "an integer (a whole number, no quotes)";
    if (strcmp(type, "number") == 0)
        return "a number (no quotes)";
    if (strcmp(type, "string") == 0)
        return "a string";
    if (strcmp(type, "boolean") == 0)
        return "a boolean (true or false, no quotes)";
    if (strcmp(type, "object") == 0)
        return "a JSON object";
    if (strcmp(type, "array") == 0)
        return "a JSON array";
    if (strcmp(type, "null") == 0)
        return "null";
    return type;
}

/* Appends to `buf` what the schema `p` expects: type, range, allowed values, description. */
static void describe_expected(const cJSON *p, char *buf, size_t len)
{
    size_t off = 0;
#define APPEND(...)                                                                                \
    do {                                                                                           \
        if (off < len) {                                                                           \
            int n_ = snprintf(buf + off, len - off, __VA_ARGS__);                                  \
            if (n_ > 0)                                                                            \
                off += (size_t)n_ < len - off ? (size_t)n_ : len - off - 1;                        \
        }                                                                                          \
    } while (0)
    buf[0] = '\0';
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "type");
    if (cJSON_IsString(type)) {
        APPEND("%s", type_words(type->valuestring));
    } else if (cJSON_IsArray(type)) {
        const cJSON *t;
        bool first = true;
        cJSON_ArrayForEach(t, type)
        {
            if (cJSON_IsString(t)) {
                APPEND("%s%s", first ? "" : " or ", type_words(t->valuestring));
                first = false;
            }
        }
    }
    const cJSON *mn = cJSON_GetObjectItemCaseSensitive(p, "minimum");
    const cJSON *mx = cJSON_GetObjectItemCaseSensitive(p, "maximum");
    if (cJSON_IsNumber(mn) && cJSON_IsNumber(mx))
        APPEND(" from %.17g to %.17g", mn->valuedouble, mx->valuedouble);
    else if (cJSON_IsNumber(mn))
        APPEND(" of at least %.17g", mn->valuedouble);
    else if (cJSON_IsNumber(mx))
        APPEND(" of at most %.17g", mx->valuedouble);
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(p, "enum");
    if (cJSON_IsArray(en)) {
        APPEND("%sone of ", off ? ", " : "");
        const cJSON *v;
        int i = 0;
        cJSON_ArrayForEach(v, en)
        {
            char d[64];
            if (cJSON_IsString(v))
                snprintf(d, sizeof d, "\"%.48s\"", v->valuestring);
            else
                describe_value(v, d, sizeof d);
            APPEND("%s%s", i++ ? ", " : "", d);
        }
    }
    const char *desc = str_item(p, "description");
    if (desc)
        APPEND(" (%.200s%s)", desc, strlen(desc) > 200 ? "..." : "");
#undef APPEND
}

static size_t utf8_len(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/* Checks one value against a property schema; on failure writes why into `why`. Arrays
 * get their items checked one level down. */
static bool check_value(const cJSON *p, const cJSON *v, int depth, char *why, size_t len)
{
    if (!cJSON_IsObject(p))
        return true;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(p, "type");
    bool ok = true;
    if (cJSON_IsString(type)) {
        ok = type_matches(type->valuestring, v);
    } else if (cJSON_IsArray(type) && cJSON_GetArraySize(type) > 0) {
        ok = false;
        const cJSON *t;
        cJSON_ArrayForEach(t, type)
        {
            if (cJSON_IsString(t) && type_matches(t->valuestring, v))
                ok = true;
        }
    }
    char got[96];
    describe_value(v, got, sizeof got);
    if (!ok) {
        snprintf(why, len, "has the wrong type (got %s)", got);
        return false;
    }
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(p, "enum");
    if (cJSON_IsArray(en)) {
        bool found = false;
        const cJSON *e;
        cJSON_ArrayForEach(e, en)
        {
            if (cJSON_Compare(e, v, true))
                found = true;
        }
        if (!found) {
            snprintf(why, len, "is not an allowed value (got %s)", got);
            return false;
        }
    }
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        const cJSON *b;
        if ((b = cJSON_GetObjectItemCaseSensitive(p, "minimum")) && cJSON_IsNumber(b) &&
            d < b->valuedouble) {
            snprintf(why, len, "is too small (got %s, minimum %.17g)", got, b->valuedouble);
            return false;
        }
        if ((b = cJSON_GetObjectItemCaseSensitive(p, "maximum")) && cJSON_IsNumber(b) &&
            d > b->valuedouble) {
            snprintf(why, len, "is too large (got %s, maximum %.17g)", got, b->valuedouble);
            return false;
        }
        if ((b = cJSON_GetObjectItemCaseSensitive(p, "exclusiveMinimum")) && cJSON_IsNumber(b) &&
            d <= b->valuedouble) {
            snprintf(why, len, "is too small (got %s, must be above %.17g)", got, b->valuedouble);
            return false;
        }
        if ((b = cJSON_GetObjectItemCaseSensitive(p, "exclusiveMaximum")) && cJSON_IsNumber(b) &&
            d >= b->valuedouble) {
            snprintf(why, len, "is too large (got %s, must be below %.17g)", got, b->valuedouble);
            return false;
        }
    }
    if (cJSON_IsString(v)) {
        size_t n = utf8_len(v->valuestring);
        const cJSON *b;
        if ((b = cJSON_GetObjectItemCaseSensitive(p, "minLength")) && cJSON_IsNumber(b) &&
            (double)n < b->valuedouble) {
            snprintf(why, len, "is too short (%zu characters, at least %.0f needed)", n,
                     b->valuedouble);
            return false;
        }
        if ((b = cJSON_GetObjectItemCaseSensitive(p, "maxLength")) && cJSON_IsNumber(b) &&
            (double)n > b->valuedouble) {
            snprintf(why, len, "is too long (%zu characters, at most %.0f allowed)", n,
                     b->valuedouble);
            return false;
        }
    }
    if (cJSON_IsArray(v)) {
        double n = (double)cJSON_GetArraySize(v);
        const cJSON *b;
        if ((b = cJSON_GetObjectItemCaseSensitive(p, "minItems")) && cJSON_IsNumber(b) &&
            n < b->valuedouble) {
            snprintf(why, len, "has too few items (%.0f, at least %.0f needed)", n, b->valuedouble);
            return false;
        }
        if ((b = cJSON_GetObjectItemCaseSensitive(p, "maxItems")) && cJSON_IsNumber(b) &&
            n > b->valuedouble) {
            snprintf(why, len, "has too many items (%.0f, at most %.0f allowed)", n,
                     b->valuedouble);
            return false;
        }
        const cJSON *items = cJSON_GetObjectItemCaseSensitive(p, "items");
        if (depth == 0 && cJSON_IsObject(items)) {
            int i = 0;
            const cJSON *it;
            cJSON_ArrayForEach(it, v)
            {
                char sub[512];
                if (!check_value(items, it, depth + 1, sub, sizeof sub)) {
                    char exp[512];
                    describe_expected(items, exp, sizeof exp);
                    snprintf(why, len, "has a bad item [%d] that %.200s; each item must be %.300s",
                             i, sub, exp);
                    return false;
                }
                i++;
            }
        }
    }
    return true;
}

/* The top level of a tool's input schema against the arguments. On failure `msg` says
 * which argument, what was wrong and what would be accepted. */
static bool check_arguments(const tool_ent *t, const cJSON *args, char *msg, size_t len)
{
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(t->input_schema, "properties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(t->input_schema, "required");
    const cJSON *addl = cJSON_GetObjectItemCaseSensitive(t->input_schema, "additionalProperties");
    char exp[768];
    const cJSON *r;
    cJSON_ArrayForEach(r, req)
    {
        if (!cJSON_IsString(r) || cJSON_GetObjectItemCaseSensitive(args, r->valuestring))
            continue;
        describe_expected(cJSON_GetObjectItemCaseSensitive(props, r->valuestring), exp, sizeof exp);
        snprintf(msg, len,
                 "Invalid arguments for tool \"%s\": the required argument \"%s\" is missing. "
                 "Add \"%s\": %s, and call the tool again.",
                 t->name, r->valuestring, r->valuestring, exp[0] ? exp : "a value");
        return false;
    }
    const cJSON *a;
    cJSON_ArrayForEach(a, args)
    {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(props, a->string);
        if (!p) {
            if (!cJSON_IsFalse(addl))
                continue;
            char names[512] = "";
            size_t off = 0;
            const cJSON *q;
            cJSON_ArrayForEach(q, props)
            {
                if (off >= sizeof names - 1)
                    break;
                int n =
                    snprintf(names + off, sizeof names - off, "%s%s", off ? ", " : "", q->string);
                if (n > 0)
                    off += (size_t)n;
            }
            snprintf(msg, len,
                     "Invalid arguments for tool \"%s\": unknown argument \"%.64s\". Remove it; "
                     "this tool accepts: %s.",
                     t->name, a->string, names[0] ? names : "no arguments");
            return false;
        }
        char why[768];
        if (!check_value(p, a, 0, why, sizeof why)) {
            describe_expected(p, exp, sizeof exp);
            snprintf(msg, len,
                     "Invalid arguments for tool \"%s\": argument \"%s\" %s. Pass %s, and call "
                     "the tool again.",
                     t->name, a->string, why, exp[0] ? exp : "a valid value");
            return false;
        }
    }
    return true;
}

static void free_tool_result(mcp_tool_result *out)
{
    free(out->text);
    cJSON_Delete(out->structured);
    cJSON_Delete(out->extra_content);
    memset(out, 0, sizeof *out);
}

static cJSON *text_result(const char *text, bool is_error)
{
    cJSON *r = cJSON_CreateObject();
    cJSON *content = cJSON_AddArrayToObject(r, "content");
    cJSON *item = cJSON_CreateObject();
    cJSON_AddStringToObject(item, "type", "text");
    cJSON_AddStringToObject(item, "text", text);
    mcp_json_push(content, item);
    cJSON_AddBoolToObject(r, "isError", is_error);
    return r;
}

/* ---- 2026-07-28: capabilities, multi round-trip requests, signed request state ---------- */

#define MAX_STATE       16384 /* plain request state a handler may hand back, bytes */
#define STATE_TTL_S     600   /* a signed state is good for 10 minutes */
#define MAX_STATE_TOKEN (MAX_STATE * 2 + 1024)

static uint8_t g_state_key[32];
static bool g_state_key_ok;
static pthread_once_t g_state_once = PTHREAD_ONCE_INIT;

static void state_key_init(void)
{
    g_state_key_ok = mcp__random(g_state_key, sizeof g_state_key) == 0;
}

static const char k_b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64url_encode(const uint8_t *p, size_t n)
{
    char *out = malloc(n / 3 * 4 + 5);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = k_b64url[v >> 18 & 63];
        out[o++] = k_b64url[v >> 12 & 63];
        out[o++] = k_b64url[v >> 6 & 63];
        out[o++] = k_b64url[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        out[o++] = k_b64url[v >> 18 & 63];
        out[o++] = k_b64url[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = k_b64url[v >> 6 & 63];
    }
    out[o] = '\0';
    return out;
}

/* Decodes unpadded base64url of `n` characters into `out` (room for n*3/4 bytes). -1 on
 * any other character or an impossible length. */
static ssize_t b64url_decode(const char *s, size_t n, uint8_t *out)
{
    if (n % 4 == 1)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        const char *q = memchr(k_b64url, s[i], 64);
        if (!q || !s[i])
            return -1;
        acc = acc << 6 | (uint32_t)(q - k_b64url);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return (ssize_t)o;
}

/* payload = method \n target \n expiry \n state; token = b64url(payload) "." b64url(mac) */
static char *state_sign(const char *method, const char *target, const char *state)
{
    pthread_once(&g_state_once, state_key_init);
    if (!g_state_key_ok)
        return NULL;
    size_t n = strlen(method) + strlen(target) + strlen(state) + 32;
    char *payload = malloc(n);
    if (!payload)
        return NULL;
    int len = snprintf(payload, n, "%s\n%s\n%lld\n%s", method, target,
                       (long long)time(NULL) + STATE_TTL_S, state);
    uint8_t mac[32];
    char *a = NULL, *b = NULL, *out = NULL;
    if (len > 0 && gnutls_hmac_fast(GNUTLS_MAC_SHA256, g_state_key, sizeof g_state_key, payload,
                                    (size_t)len, mac) == 0) {
        a = b64url_encode((const uint8_t *)payload, (size_t)len);
        b = b64url_encode(mac, sizeof mac);
    }
    if (a && b && (out = malloc(strlen(a) + strlen(b) + 2)))
        sprintf(out, "%s.%s", a, b);
    free(payload);
    free(a);
    free(b);
    return out;
}

/* The plain state of a token this process signed for `method` on `target`, still valid
 * (malloc'd), or NULL with the reason in `why`. */
static char *state_verify(const char *token, const char *method, const char *target,
                          const char **why)
{
    pthread_once(&g_state_once, state_key_init);
    size_t n = strlen(token);
    const char *dot = strrchr(token, '.');
    *why = "requestState is not one this server issued (malformed)";
    if (!g_state_key_ok || n > MAX_STATE_TOKEN || !dot)
        return NULL;
    size_t plen = (size_t)(dot - token), mlen = n - plen - 1;
    uint8_t *payload = malloc(plen * 3 / 4 + 4);
    uint8_t mac[48], want[32];
    ssize_t pl = payload ? b64url_decode(token, plen, payload) : -1;
    ssize_t ml = mlen <= 64 ? b64url_decode(dot + 1, mlen, mac) : -1;
    if (pl < 0 || ml != 32 ||
        gnutls_hmac_fast(GNUTLS_MAC_SHA256, g_state_key, sizeof g_state_key, payload, (size_t)pl,
                         want) != 0) {
        free(payload);
        return NULL;
    }
    uint8_t diff = 0;
    for (size_t i = 0; i < sizeof want; i++)
        diff |= (uint8_t)(want[i] ^ mac[i]);
    if (diff) {
        free(payload);
        *why = "requestState failed its integrity check (modified, or issued by another "
               "server process): start the request again without it";
        return NULL;
    }
    payload[pl] = '\0'; /* room: plen*3/4+4 > pl */
    char *p = (char *)payload;
    char *m_end = strchr(p, '\n');
    char *t_end = m_end ? strchr(m_end + 1, '\n') : NULL;
    char *x_end = t_end ? strchr(t_end + 1, '\n') : NULL;
    if (!x_end) {
        free(payload);
        return NULL;
    }
    *m_end = *t_end = *x_end = '\0';
    long long expiry = strtoll(t_end + 1, NULL, 10);
    if (strcmp(p, method) != 0 || strcmp(m_end + 1, target) != 0) {
        *why = "requestState belongs to another request (method or name differ): send the "
               "retry with the same method and name";
        free(payload);
        return NULL;
    }
    if (expiry < (long long)time(NULL)) {
        *why = "requestState expired: start the request again without it";
        free(payload);
        return NULL;
    }
    char *state = strdup(x_end + 1);
    free(payload);
    return state;
}

static bool legacy_has(const call_ctx *c, const char *capability)
{
    if (!c->s)
        return false;
    bool v = false;
    pthread_mutex_lock(&c->s->mu);
    if (strcmp(capability, "sampling") == 0)
        v = c->s->client_sampling;
    else if (strcmp(capability, "elicitation") == 0)
        v = c->s->client_elicitation;
    else if (strcmp(capability, "roots") == 0)
        v = c->s->client_roots;
    pthread_mutex_unlock(&c->s->mu);
    return v;
}

bool mcp_client_has(const mcp_call *call, const char *capability)
{
    const call_ctx *c = (const call_ctx *)call;
    if (!call || !capability)
        return false;
    if (!c->modern)
        return legacy_has(c, capability);
    return cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(call->client_capabilities, capability));
}

int mcp_input_required(mcp_call *call, cJSON *input_requests, const char *state)
{
    call_ctx *c = (call_ctx *)call;
    bool method_ok =
        c && c->method &&
        (strcmp(c->method, "tools/call") == 0 || strcmp(c->method, "prompts/get") == 0 ||
         strcmp(c->method, "resources/read") == 0);
    bool ok = c && c->modern && method_ok && !c->input_required && (input_requests || state) &&
              (!input_requests || cJSON_IsObject(input_requests)) &&
              (!state || strlen(state) <= MAX_STATE);
    /* every request must be of a kind the client declared (spec: MUST NOT send others) */
    const cJSON *r;
    cJSON_ArrayForEach(r, (ok ? input_requests : NULL))
    {
        const char *m = str_item(r, "method");
        const char *cap = !m                                         ? NULL
                          : strcmp(m, "sampling/createMessage") == 0 ? "sampling"
                          : strcmp(m, "elicitation/create") == 0     ? "elicitation"
                          : strcmp(m, "roots/list") == 0             ? "roots"
                                                                     : NULL;
        if (!cap || !mcp_client_has(call, cap))
            ok = false;
    }
    if (!ok) {
        cJSON_Delete(input_requests);
        return -1;
    }
    c->input_requests = input_requests;
    c->state_out = state ? strdup(state) : NULL;
    c->input_required = true;
    if (state && !c->state_out) {
        cJSON_Delete(input_requests);
        c->input_requests = NULL;
        c->input_required = false;
        return -1;
    }
    return 0;
}

void mcp_missing_capability(mcp_call *call, const char *capability)
{
    call_ctx *c = (call_ctx *)call;
    if (c && capability)
        snprintf(c->missing_cap, sizeof c->missing_cap, "%s", capability);
}

/* The answer a handler asked for instead of its result: -32021 or an InputRequiredResult.
 * Under 2025-xx a missing capability is an isError tool result (no such error code there). */
static cJSON *take_interim(call_ctx *c, rpc_err *e)
{
    cJSON *reqs = c->input_requests;
    char *state = c->state_out;
    c->input_requests = NULL;
    c->state_out = NULL;
    if (c->missing_cap[0]) {
        cJSON_Delete(reqs);
        free(state);
        if (!c->modern) {
            char msg[160];
            snprintf(msg, sizeof msg, "this needs the client capability \"%s\"", c->missing_cap);
            return text_result(msg, true);
        }
        cJSON *data = cJSON_CreateObject();
        cJSON *caps = cJSON_AddObjectToObject(data, "requiredCapabilities");
        cJSON_AddObjectToObject(caps, c->missing_cap);
        e->data = data;
        set_err(e, MCP__MISSING_CAPABILITY,
                "missing required client capability: %s (declare it in "
                "_meta[\"io.modelcontextprotocol/clientCapabilities\"])",
                c->missing_cap);
        return NULL;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "resultType", "input_required");
    if (reqs)
        mcp_json_add(r, "inputRequests", reqs);
    if (state) {
        char *token = state_sign(c->method, c->target ? c->target : "", state);
        free(state);
        if (!token) {
            cJSON_Delete(r);
            set_err(e, MCP__INTERNAL_ERROR, "internal error: cannot sign the request state");
            return NULL;
        }
        cJSON_AddStringToObject(r, "requestState", token);
        free(token);
    }
    return r;
}

static cJSON *m_tools_call(call_ctx *c, const cJSON *params, rpc_err *e)
{
    const char *name = str_item(params, "name");
    if (!name) {
        set_err(e, MCP__INVALID_PARAMS,
                "tools/call needs params.name (a tool name from tools/list)");
        return NULL;
    }
    const tool_ent *t = NULL;
    for (size_t i = 0; i < c->srv->n_tools; i++)
        if (strcmp(c->srv->tools[i].name, name) == 0)
            t = &c->srv->tools[i];
    if (!t) {
        set_err(e, MCP__INVALID_PARAMS, "unknown tool \"%.128s\": call tools/list for the names",
                name);
        return NULL;
    }
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(params, "arguments");
    if (args && !cJSON_IsObject(args) && !cJSON_IsNull(args)) {
        set_err(e, MCP__INVALID_PARAMS, "params.arguments of tools/call must be a JSON object");
        return NULL;
    }
    cJSON *empty = NULL;
    if (!cJSON_IsObject(args)) {
        empty = cJSON_CreateObject();
        args = empty;
    }
    char msg[2048];
    if (!check_arguments(t, args, msg, sizeof msg)) {
        cJSON_Delete(empty);
        return text_result(msg, true);
    }
    mcp_tool_result out = {0};
    int rc = t->fn(t->user, &c->pub, args, &out);
    cJSON_Delete(empty);
    if (rc == 0 && (c->input_required || c->missing_cap[0])) {
        free_tool_result(&out);
        return take_interim(c, e);
    }
    if (rc != 0) {
        free_tool_result(&out);
        set_err(e, MCP__INTERNAL_ERROR, "internal error in tool \"%s\"", t->name);
        return NULL;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON *content = cJSON_AddArrayToObject(r, "content");
    char *printed = NULL;
    const char *text = out.text;
    if (!text && cJSON_IsObject(out.structured)) {
        /* clients without structuredContent support read the same data as text */
        printed = cJSON_PrintUnformatted(out.structured);
        text = printed;
    }
    if (text) {
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "type", "text");
        cJSON_AddStringToObject(item, "text", text);
        mcp_json_push(content, item);
    }
    free(printed);
    if (cJSON_IsArray(out.extra_content)) {
        while (cJSON_GetArraySize(out.extra_content) > 0) {
            cJSON *item = cJSON_DetachItemFromArray(out.extra_content, 0);
            if (cJSON_IsObject(item))
                mcp_json_push(content, item);
            else
                cJSON_Delete(item);
        }
    }
    if (cJSON_IsObject(out.structured)) {
        mcp_json_add(r, "structuredContent", out.structured);
        out.structured = NULL;
    }
    cJSON_AddBoolToObject(r, "isError", out.is_error);
    free_tool_result(&out);
    return r;
}

/* ---- resources ------------------------------------------------------------------------------ */

static void add_resource_fields(cJSON *o, const resource_ent *r)
{
    cJSON_AddStringToObject(o, "name", r->name);
    if (r->title)
        cJSON_AddStringToObject(o, "title", r->title);
    if (r->description)
        cJSON_AddStringToObject(o, "description", r->description);
    if (r->mime_type)
        cJSON_AddStringToObject(o, "mimeType", r->mime_type);
}

static cJSON *m_resources_list(call_ctx *c, const cJSON *params, rpc_err *e, bool templates)
{
    if (!check_no_cursor(params, e))
        return NULL;
    cJSON *r = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(r, templates ? "resourceTemplates" : "resources");
    for (size_t i = 0; i < c->srv->n_resources; i++) {
        const resource_ent *res = &c->srv->resources[i];
        if (res->is_template != templates)
            continue;
        cJSON *o = cJSON_CreateObject();
        if (!mcp_json_push(arr, o))
            o = NULL; /* deleted: what follows adds to nothing */
        cJSON_AddStringToObject(o, templates ? "uriTemplate" : "uri", res->uri);
        add_resource_fields(o, res);
    }
    return r;
}

/* RFC 6570 level 1: each {var} stands for one or more characters that simple expansion
 * can produce, which never include '/', '?' or '#' (they are percent-encoded). */
static bool template_matches(const char *tpl, const char *uri)
{
    while (*tpl) {
        if (*tpl == '{') {
            const char *close = strchr(tpl, '}');
            if (!close)
                return false;
            char stop = close[1];
            size_t n = 0;
            while (uri[n] && uri[n] != stop && uri[n] != '/' && uri[n] != '?' && uri[n] != '#')
                n++;
            if (n == 0)
                return false;
            uri += n;
            tpl = close + 1;
        } else {
            if (*tpl != *uri)
                return false;
            tpl++;
            uri++;
        }
    }
    return *uri == '\0';
}

static char *base64(const uint8_t *p, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (n > ((size_t)1 << 40))
        return NULL;
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = tbl[v >> 18];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = tbl[(v >> 6) & 63];
        out[o++] = tbl[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        out[o++] = tbl[v >> 18];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

/* An exact URI first, then the first template that matches; NULL when none does. */
static const resource_ent *find_resource(const mcp_server *srv, const char *uri)
{
    for (size_t i = 0; i < srv->n_resources; i++)
        if (!srv->resources[i].is_template && strcmp(srv->resources[i].uri, uri) == 0)
            return &srv->resources[i];
    for (size_t i = 0; i < srv->n_resources; i++)
        if (srv->resources[i].is_template && template_matches(srv->resources[i].uri, uri))
            return &srv->resources[i];
    return NULL;
}

/* resources/subscribe and resources/unsubscribe: the session remembers the URIs (what a
 * future updated notification would be checked against); unsubscribing a URI that was
 * never subscribed is not an error, as the spec lets a client clean up blindly. */
static cJSON *m_subscribe(call_ctx *c, const cJSON *params, rpc_err *e, bool on)
{
    const char *uri = str_item(params, "uri");
    if (!uri || strlen(uri) > MAX_URI) {
        set_err(e, MCP__INVALID_PARAMS,
                "%s needs params.uri (at most %d bytes; see resources/list)",
                on ? "resources/subscribe" : "resources/unsubscribe", MAX_URI);
        return NULL;
    }
    if (on && !find_resource(c->srv, uri)) {
        set_err(e, MCP__RESOURCE_NOT_FOUND, "resource not found: %.256s (see resources/list)", uri);
        return NULL;
    }
    if (!c->s)
        return cJSON_CreateObject();
    pthread_mutex_lock(&c->s->mu);
    size_t i = 0;
    while (i < c->s->n_subs && strcmp(c->s->subs[i], uri) != 0)
        i++;
    bool ok = true;
    if (on && i == c->s->n_subs) {
        char *copy = c->s->n_subs < MAX_SUBS ? strdup(uri) : NULL;
        if (copy)
            c->s->subs[c->s->n_subs++] = copy;
        else
            ok = false;
    } else if (!on && i < c->s->n_subs) {
        free(c->s->subs[i]);
        c->s->subs[i] = c->s->subs[--c->s->n_subs];
    }
    pthread_mutex_unlock(&c->s->mu);
    if (!ok) {
        set_err(e, MCP__INVALID_PARAMS,
                "too many subscriptions: a session holds at most %d; unsubscribe some first",
                MAX_SUBS);
        return NULL;
    }
    return cJSON_CreateObject();
}

static cJSON *m_resources_read(call_ctx *c, const cJSON *params, rpc_err *e)
{
    const char *uri = str_item(params, "uri");
    if (!uri) {
        set_err(e, MCP__INVALID_PARAMS, "resources/read needs params.uri (see resources/list)");
        return NULL;
    }
    const resource_ent *res = find_resource(c->srv, uri);
    mcp_resource_content rc = {0};
    if (res) {
        rc.mime_type = res->mime_type;
        int ret = res->fn(res->user, &c->pub, uri, &rc);
        if (ret == 0 && (c->input_required || c->missing_cap[0])) {
            free(rc.text);
            free(rc.blob);
            return take_interim(c, e);
        }
        if (ret != 0) {
            free(rc.text);
            free(rc.blob);
            res = NULL;
        }
    }
    if (!res) {
        cJSON *data = cJSON_CreateObject();
        cJSON_AddStringToObject(data, "uri", uri);
        e->data = data;
        /* 2026-07-28 retired -32002 for the JSON-RPC code */
        set_err(e, c->modern ? MCP__INVALID_PARAMS : MCP__RESOURCE_NOT_FOUND,
                "resource not found: %.512s", uri);
        return NULL;
    }
    cJSON *r = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(r, "contents");
    cJSON *o = cJSON_CreateObject();
    if (!mcp_json_push(arr, o))
        o = NULL; /* deleted: what follows adds to nothing */
    cJSON_AddStringToObject(o, "uri", uri);
    if (rc.mime_type)
        cJSON_AddStringToObject(o, "mimeType", rc.mime_type);
    if (rc.blob) {
        char *b = base64(rc.blob, rc.blob_len);
        if (!b) {
            free(rc.text);
            free(rc.blob);
            cJSON_Delete(r);
            set_err(e, MCP__INTERNAL_ERROR, "out of memory encoding %.512s", uri);
            return NULL;
        }
        cJSON_AddStringToObject(o, "blob", b);
        free(b);
    } else {
        cJSON_AddStringToObject(o, "text", rc.text ? rc.text : "");
    }
    free(rc.text);
    free(rc.blob);
    return r;
}

/* ---- prompts and completion ---------------------------------------------------------------- */

static const prompt_ent *find_prompt(const mcp_server *srv, const char *name)
{
    for (size_t i = 0; name && i < srv->n_prompts; i++)
        if (strcmp(srv->prompts[i].name, name) == 0)
            return &srv->prompts[i];
    return NULL;
}

static cJSON *m_prompts_list(call_ctx *c, const cJSON *params, rpc_err *e)
{
    if (!check_no_cursor(params, e))
        return NULL;
    cJSON *r = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(r, "prompts");
    for (size_t i = 0; i < c->srv->n_prompts; i++) {
        const prompt_ent *p = &c->srv->prompts[i];
        cJSON *o = cJSON_CreateObject();
        if (!mcp_json_push(arr, o))
            o = NULL; /* deleted: what follows adds to nothing */
        cJSON_AddStringToObject(o, "name", p->name);
        if (p->title)
            cJSON_AddStringToObject(o, "title", p->title);
        if (p->description)
            cJSON_AddStringToObject(o, "description", p->description);
        cJSON *args = cJSON_AddArrayToObject(o, "arguments");
        for (size_t j = 0; j < p->n_args; j++) {
            cJSON *a = cJSON_CreateObject();
            if (!mcp_json_push(args, a))
                a = NULL; /* deleted: what follows adds to nothing */
            cJSON_AddStringToObject(a, "name", p->args[j].name);
            if (p->args[j].description)
                cJSON_AddStringToObject(a, "description", p->args[j].description);
            cJSON_AddBoolToObject(a, "required", p->args[j].required);
        }
    }
    return r;
}

static cJSON *m_prompts_get(call_ctx *c, const cJSON *params, rpc_err *e)
{
    const char *name = str_item(params, "name");
    const prompt_ent *p = find_prompt(c->srv, name);
    if (!p) {
        set_err(e, MCP__INVALID_PARAMS,
                "unknown prompt \"%.128s\": call prompts/list for the names", name ? name : "");
        return NULL;
    }
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(params, "arguments");
    if (args && !cJSON_IsObject(args) && !cJSON_IsNull(args)) {
        set_err(e, MCP__INVALID_PARAMS,
                "params.arguments of prompts/get must be an object of strings");
        return NULL;
    }
    const cJSON *a;
    const cJSON *given = cJSON_IsObject(args) ? args : NULL;
    cJSON_ArrayForEach(a, given)
    {
        if (!cJSON_IsString(a)) {
            set_err(e, MCP__INVALID_PARAMS, "prompt argument \"%.64s\" must be a string",
                    a->string);
            return NULL;
        }
    }
    for (size_t j = 0; j < p->n_args; j++) {
        if (!p->args[j].required)
            continue;
        const char *v = cJSON_IsObject(args) ? str_item(args, p->args[j].name) : NULL;
        if (!v) {
            set_err(e, MCP__INVALID_PARAMS, "prompt \"%s\" needs the argument \"%s\"%s%.200s%s",
                    p->name, p->args[j].name, p->args[j].description ? " (" : "",
                    p->args[j].description ? p->args[j].description : "",
                    p->args[j].description ? ")" : "");
            return NULL;
        }
    }
    cJSON *empty = NULL;
    if (!cJSON_IsObject(args)) {
        empty = cJSON_CreateObject();
        args = empty;
    }
    cJSON *messages = cJSON_CreateArray();
    char *description = NULL;
    char err[512] = "";
    int rc = p->fn(p->user, &c->pub, args, messages, &description, err, sizeof err);
    cJSON_Delete(empty);
    if (rc == 0 && (c->input_required || c->missing_cap[0])) {
        cJSON_Delete(messages);
        free(description);
        return take_interim(c, e);
    }
    if (rc != 0) {
        cJSON_Delete(messages);
        free(description);
        set_err(e, MCP__INVALID_PARAMS, "%s", err[0] ? err : "invalid prompt arguments");
        return NULL;
    }
    cJSON *r = cJSON_CreateObject();
    if (description || p->description)
        cJSON_AddStringToObject(r, "description", description ? description : p->description);
    free(description);
    mcp_json_add(r, "messages", messages);
    return r;
}

static cJSON *m_complete(call_ctx *c, const cJSON *params, rpc_err *e)
{
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(params, "ref");
    const cJSON *arg = cJSON_GetObjectItemCaseSensitive(params, "argument");
    const char *rtype = str_item(ref, "type");
    const char *aname = str_item(arg, "name");
    const char *avalue = str_item(arg, "value");
    if (!rtype || !aname || !avalue) {
        set_err(e, MCP__INVALID_PARAMS,
                "completion/complete needs params.ref {type, name|uri} and params.argument "
                "{name, value}");
        return NULL;
    }
    const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(params, "context");
    const cJSON *ctx_args = cJSON_GetObjectItemCaseSensitive(ctx, "arguments");
    if (!cJSON_IsObject(ctx_args))
        ctx_args = NULL;
    mcp_complete_fn fn = NULL;
    void *user = NULL;
    if (strcmp(rtype, "ref/prompt") == 0) {
        const prompt_ent *p = find_prompt(c->srv, str_item(ref, "name"));
        if (!p) {
            set_err(e, MCP__INVALID_PARAMS, "unknown prompt in params.ref.name");
            return NULL;
        }
        bool known = false;
        for (size_t j = 0; j < p->n_args; j++)
            if (strcmp(p->args[j].name, aname) == 0)
                known = true;
        if (!known) {
            set_err(e, MCP__INVALID_PARAMS, "prompt \"%s\" has no argument \"%.64s\"", p->name,
                    aname);
            return NULL;
        }
        fn = p->complete;
        user = p->user;
    } else if (strcmp(rtype, "ref/resource") == 0) {
        const char *uri = str_item(ref, "uri");
        bool known = false;
        for (size_t i = 0; uri && i < c->srv->n_resources; i++)
            if (strcmp(c->srv->resources[i].uri, uri) == 0)
                known = true;
        for (size_t i = 0; uri && i < c->srv->n_rcomps; i++) {
            if (strcmp(c->srv->rcomps[i].uri_template, uri) == 0) {
                fn = c->srv->rcomps[i].fn;
                user = c->srv->rcomps[i].user;
                known = true;
            }
        }
        if (!known) {
            set_err(e, MCP__INVALID_PARAMS, "unknown resource in params.ref.uri");
            return NULL;
        }
    } else {
        set_err(e, MCP__INVALID_PARAMS,
                "params.ref.type must be \"ref/prompt\" or \"ref/resource\"");
        return NULL;
    }
    cJSON *values = cJSON_CreateArray();
    bool has_more = false;
    int total = -1;
    if (fn && fn(user, aname, avalue, ctx_args, values, &has_more, &total) != 0) {
        cJSON_Delete(values);
        set_err(e, MCP__INTERNAL_ERROR, "completion failed");
        return NULL;
    }
    /* only strings, at most 100 of them; what is cut is reported through hasMore/total */
    cJSON *out = cJSON_CreateArray();
    int n = 0, all = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, values)
    {
        if (!cJSON_IsString(v))
            continue;
        all++;
        if (n < MAX_COMPLETIONS) {
            mcp_json_push(out, cJSON_CreateString(v->valuestring));
            n++;
        }
    }
    cJSON_Delete(values);
    if (all > n)
        has_more = true;
    if (total < all)
        total = all;
    cJSON *r = cJSON_CreateObject();
    cJSON *comp = cJSON_AddObjectToObject(r, "completion");
    mcp_json_add(comp, "values", out);
    if (total >= 0)
        cJSON_AddNumberToObject(comp, "total", total);
    cJSON_AddBoolToObject(comp, "hasMore", has_more);
    return r;
}

/* ---- dispatch ----------------------------------------------------------------------------------
 */

static cJSON *success_response(const cJSON *id, cJSON *result)
{
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "jsonrpc", "2.0");
    mcp_json_add(r, "id", cJSON_Duplicate(id, true));
    mcp_json_add(r, "result", result);
    return r;
}

static cJSON *dispatch_one_unchecked(mcp_server *srv, mcp_session *s, const cJSON *msg,
                                     const mcp_call *tc, bool in_batch, mcp__outcome *oc);

/* ---- 2026-07-28 dispatch ------------------------------------------------------------------ */

#define K_PV        "io.modelcontextprotocol/protocolVersion"
#define K_CAPS      "io.modelcontextprotocol/clientCapabilities"
#define K_LOG       "io.modelcontextprotocol/logLevel"
#define K_INFO      "io.modelcontextprotocol/clientInfo"
#define LIST_TTL_MS 300000 /* lists are fixed once serving starts: 5 min of freshness */

bool mcp__version_legacy(const char *v)
{
    return mcp__version_supported(v);
}

const cJSON *mcp__meta_version(const cJSON *msg)
{
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");
    const cJSON *meta =
        cJSON_IsObject(params) ? cJSON_GetObjectItemCaseSensitive(params, "_meta") : NULL;
    return cJSON_IsObject(meta) ? cJSON_GetObjectItemCaseSensitive(meta, K_PV) : NULL;
}

static void add_capabilities(cJSON *caps, const mcp_server *srv)
{
    cJSON *tools = cJSON_AddObjectToObject(caps, "tools");
    cJSON_AddBoolToObject(tools, "listChanged", false);
    cJSON_AddObjectToObject(caps, "resources");
    cJSON *prompts = cJSON_AddObjectToObject(caps, "prompts");
    cJSON_AddBoolToObject(prompts, "listChanged", false);
    cJSON_AddObjectToObject(caps, "logging");
    cJSON_AddObjectToObject(caps, "completions");
    (void)srv;
}

static cJSON *m_discover(call_ctx *c)
{
    cJSON *r = cJSON_CreateObject();
    cJSON *v = cJSON_AddArrayToObject(r, "supportedVersions");
    mcp_json_push(v, cJSON_CreateString(MCP__VERSION_MODERN));
    for (size_t i = 0; i < sizeof k_versions / sizeof k_versions[0]; i++)
        mcp_json_push(v, cJSON_CreateString(k_versions[i]));
    add_capabilities(cJSON_AddObjectToObject(r, "capabilities"), c->srv);
    if (c->srv->instructions)
        cJSON_AddStringToObject(r, "instructions", c->srv->instructions);
    return r;
}

/* Decodes an Mcp-Name / Mcp-Param value: "=?base64?...?=" is standard base64 (padded) of
 * UTF-8; anything else is literal. Returns malloc'd text, or NULL when the encoding is
 * malformed (bad characters or padding). */
static char *header_value_decode(const char *v)
{
    size_t n = strlen(v);
    if (n < 11 || strncmp(v, "=?base64?", 9) != 0 || strcmp(v + n - 2, "?=") != 0)
        return strdup(v);
    const char *b = v + 9;
    size_t bl = n - 11;
    if (bl % 4 != 0)
        return NULL;
    char *out = malloc(bl / 4 * 3 + 1);
    if (!out)
        return NULL;
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < bl; i += 4) {
        uint32_t acc = 0;
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            char ch = b[i + k];
            const char *q = ch ? memchr(tbl, ch, 64) : NULL;
            if (ch == '=' && i + 4 == bl && k >= 2 && (k == 3 || b[i + 3] == '=')) {
                pad++;
                acc <<= 6;
                continue;
            }
            if (!q || pad) {
                free(out);
                return NULL;
            }
            acc = acc << 6 | (uint32_t)(q - tbl);
        }
        out[o++] = (char)(acc >> 16);
        if (pad < 2)
            out[o++] = (char)(acc >> 8 & 255);
        if (pad < 1)
            out[o++] = (char)(acc & 255);
    }
    out[o] = '\0';
    if (strlen(out) != o) { /* an embedded NUL is no name */
        free(out);
        return NULL;
    }
    return out;
}

/* HTTP header values arrive with surrounding whitespace removed by the parser; trim again
 * for safety (tabs). */
static const char *hdr(const mcp__emitter *em, const char *name, char *buf, size_t len)
{
    const char *v = em->header(em->header_user, name);
    if (!v)
        return NULL;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n >= len)
        n = len - 1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    return buf;
}

static bool header_chars_ok(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return false;
    return true;
}

/* The string a header must carry for body value `v` (primitive), or false when `v` has
 * no header form. */
static bool header_form(const cJSON *v, char *buf, size_t len)
{
    if (cJSON_IsString(v))
        snprintf(buf, len, "%s", v->valuestring);
    else if (cJSON_IsBool(v))
        snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
             fabs(v->valuedouble) <= 9007199254740991.0)
        snprintf(buf, len, "%.0f", v->valuedouble);
    else
        return false;
    return true;
}

/* Whether a header's (decoded) text equals the body value; integers compare numerically. */
static bool header_matches(const char *decoded, const cJSON *v, const char *form)
{
    if (cJSON_IsNumber(v)) {
        char *end;
        double d = strtod(decoded, &end);
        return end != decoded && *end == '\0' && d == v->valuedouble;
    }
    return strcmp(decoded, form) == 0;
}

/* SEP-2243 header/body consistency on HTTP. 0 or -1 with the HeaderMismatch message. */
static int check_headers(mcp_server *srv, const mcp__emitter *em, const char *method,
                         const cJSON *params, const char *body_version, rpc_err *e)
{
    char buf[1024];
    const char *pv = hdr(em, "MCP-Protocol-Version", buf, sizeof buf);
    if (!pv || strcmp(pv, body_version) != 0) {
        set_err(e, MCP__HEADER_MISMATCH,
                "Header mismatch: MCP-Protocol-Version header %s%.64s%s does not match the body's "
                "_meta protocol version '%.64s'",
                pv ? "'" : "(missing)", pv ? pv : "", pv ? "'" : "", body_version);
        return -1;
    }
    const char *mm = hdr(em, "Mcp-Method", buf, sizeof buf);
    if (!mm || strcmp(mm, method) != 0) {
        set_err(e, MCP__HEADER_MISMATCH,
                "Header mismatch: Mcp-Method header %s%.64s%s does not match body method '%.64s'",
                mm ? "'" : "(missing)", mm ? mm : "", mm ? "'" : "", method);
        return -1;
    }
    const char *name_key = strcmp(method, "tools/call") == 0 || strcmp(method, "prompts/get") == 0
                               ? "name"
                           : strcmp(method, "resources/read") == 0 ? "uri"
                                                                   : NULL;
    if (name_key) {
        const char *body = str_item(params, name_key);
        char nb[4096];
        const char *nh = hdr(em, "Mcp-Name", nb, sizeof nb);
        char *dec = nh ? header_value_decode(nh) : NULL;
        bool ok = dec && body && header_chars_ok(nh) && strcmp(dec, body) == 0;
        if (!ok) {
            set_err(e, MCP__HEADER_MISMATCH,
                    "Header mismatch: Mcp-Name header %s%.128s%s does not match body %s '%.128s'",
                    nh ? "'" : "(missing)", nh ? nh : "", nh ? "'" : "", name_key,
                    body ? body : "");
            free(dec);
            return -1;
        }
        free(dec);
    }
    if (strcmp(method, "tools/call") != 0)
        return 0;
    const char *tname = str_item(params, "name");
    const tool_ent *t = NULL;
    for (size_t i = 0; tname && i < srv->n_tools; i++)
        if (strcmp(srv->tools[i].name, tname) == 0)
            t = &srv->tools[i];
    if (!t)
        return 0; /* answered as an unknown tool later */
    const cJSON *args = cJSON_GetObjectItemCaseSensitive(params, "arguments");
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(t->input_schema, "properties");
    const cJSON *p;
    cJSON_ArrayForEach(p, props)
    {
        const char *hn = str_item(p, "x-mcp-header");
        if (!hn || strlen(hn) > 100)
            continue;
        char hname[128], form[64];
        snprintf(hname, sizeof hname, "Mcp-Param-%s", hn);
        const cJSON *v =
            cJSON_IsObject(args) ? cJSON_GetObjectItemCaseSensitive(args, p->string) : NULL;
        char vb[4096];
        const char *hv = hdr(em, hname, vb, sizeof vb);
        if (!v || cJSON_IsNull(v)) {
            if (hv) {
                set_err(e, MCP__HEADER_MISMATCH,
                        "Header mismatch: %s is present but arguments.%s is not", hname, p->string);
                return -1;
            }
            continue;
        }
        if (!header_form(v, form, sizeof form) && !cJSON_IsString(v))
            continue; /* not a primitive: no header form (the schema check reports the type) */
        char *dec = hv && header_chars_ok(hv) ? header_value_decode(hv) : NULL;
        bool ok = dec && (cJSON_IsString(v) ? strcmp(dec, v->valuestring) == 0
                                            : header_matches(dec, v, form));
        free(dec);
        if (!ok) {
            set_err(e, MCP__HEADER_MISMATCH,
                    "Header mismatch: %s header %s does not match arguments.%s", hname,
                    hv ? "(invalid or different)" : "(missing)", p->string);
            return -1;
        }
    }
    return 0;
}

/* Serves one 2026-07-28 request (id, method and params already checked well-formed). */
static cJSON *modern_one(mcp_server *srv, const cJSON *msg, const cJSON *id, const char *m,
                         const cJSON *params, const mcp_call *tc, mcp__outcome *oc)
{
    const mcp__emitter *em = tc ? (const mcp__emitter *)tc->transport : NULL;
    bool http = em && em->header;
    (void)msg;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(params, "_meta");
    const cJSON *pv = cJSON_IsObject(meta) ? cJSON_GetObjectItemCaseSensitive(meta, K_PV) : NULL;
    const cJSON *caps =
        cJSON_IsObject(meta) ? cJSON_GetObjectItemCaseSensitive(meta, K_CAPS) : NULL;
    const cJSON *lvl = cJSON_IsObject(meta) ? cJSON_GetObjectItemCaseSensitive(meta, K_LOG) : NULL;
    rpc_err e = {0};
    if (!cJSON_IsObject(meta) || !cJSON_IsString(pv) || !cJSON_IsObject(caps) ||
        (lvl && level_index(cJSON_GetStringValue(lvl)) < 0)) {
        oc->http_status = 400;
        return mcp__error_response(
            id, MCP__INVALID_PARAMS,
            !cJSON_IsObject(meta) ? "invalid params: params._meta is missing (" MCP__VERSION_MODERN
                                    " requests carry " K_PV " and " K_CAPS " in it)"
            : !cJSON_IsString(pv) ? "invalid params: _meta[\"" K_PV "\"] is missing or not a string"
            : !cJSON_IsObject(caps)
                ? "invalid params: _meta[\"" K_CAPS "\"] is missing or not an object"
                : "invalid params: _meta[\"" K_LOG "\"] is not a log level (debug, info, notice, "
                  "warning, error, critical, alert, emergency)",
            NULL);
    }
    if (http && check_headers(srv, em, m, params, pv->valuestring, &e) != 0) {
        oc->http_status = 400;
        return mcp__error_response(id, e.code, e.message, NULL);
    }
    if (strcmp(pv->valuestring, MCP__VERSION_MODERN) != 0) {
        oc->http_status = 400;
        cJSON *data = cJSON_CreateObject();
        cJSON *sup = cJSON_AddArrayToObject(data, "supported");
        mcp_json_push(sup, cJSON_CreateString(MCP__VERSION_MODERN));
        if (!mcp__version_legacy(pv->valuestring))
            for (size_t i = 0; i < sizeof k_versions / sizeof k_versions[0]; i++)
                mcp_json_push(sup, cJSON_CreateString(k_versions[i]));
        cJSON_AddStringToObject(data, "requested", pv->valuestring);
        char why[200];
        snprintf(why, sizeof why,
                 mcp__version_legacy(pv->valuestring)
                     ? "Unsupported protocol version: %.32s is served only after an initialize "
                       "handshake; per-request _meta needs " MCP__VERSION_MODERN
                     : "Unsupported protocol version: %.32s",
                 pv->valuestring);
        return mcp__error_response(id, MCP__UNSUPPORTED_VERSION, why, data);
    }

    call_ctx c = {0};
    c.srv = srv;
    c.em = em;
    c.modern = true;
    c.method = m;
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(meta, "progressToken");
    if (cJSON_IsString(tok) || cJSON_IsNumber(tok))
        c.progress_token = tok;
    c.log_threshold = lvl ? (size_t)level_index(lvl->valuestring) : N_LEVELS;
    snprintf(c.version, sizeof c.version, "%s", MCP__VERSION_MODERN);
    c.pub.protocol_version = c.version;
    c.pub.progress = call_progress;
    c.pub.log = call_log;
    c.pub.request = call_request;
    c.pub.transport = tc ? tc->transport : NULL;
    c.pub.client_capabilities = caps;

    bool mrtr = strcmp(m, "tools/call") == 0 || strcmp(m, "prompts/get") == 0 ||
                strcmp(m, "resources/read") == 0;
    if (mrtr) {
        c.target = str_item(params, strcmp(m, "resources/read") == 0 ? "uri" : "name");
        const cJSON *ir = cJSON_GetObjectItemCaseSensitive(params, "inputResponses");
        const cJSON *rs = cJSON_GetObjectItemCaseSensitive(params, "requestState");
        if (ir && !cJSON_IsNull(ir)) {
            bool ok = cJSON_IsObject(ir);
            const cJSON *v;
            cJSON_ArrayForEach(v, (ok ? ir : NULL)) if (!cJSON_IsObject(v)) ok = false;
            if (!ok)
                return mcp__error_response(
                    id, MCP__INVALID_PARAMS,
                    "invalid params: inputResponses must be an object mapping each inputRequests "
                    "key to the client's result object",
                    NULL);
            c.pub.input_responses = ir;
        }
        if (rs && !cJSON_IsNull(rs)) {
            const char *why = "requestState must be the string this server returned";
            char *st = cJSON_IsString(rs)
                           ? state_verify(rs->valuestring, m, c.target ? c.target : "", &why)
                           : NULL;
            if (!st)
                return mcp__error_response(id, MCP__INVALID_PARAMS, why, NULL);
            c.state_in = st;
            c.pub.request_state = st;
        }
    }

    cJSON *result = NULL;
    bool cacheable = false;
    const char *scope = "public";
    long long ttl = LIST_TTL_MS;
    if (strcmp(m, "server/discover") == 0) {
        result = m_discover(&c);
        cacheable = true;
    } else if (strcmp(m, "tools/list") == 0) {
        result = m_tools_list(&c, params, &e);
        cacheable = true;
    } else if (strcmp(m, "tools/call") == 0) {
        result = m_tools_call(&c, params, &e);
    } else if (strcmp(m, "resources/list") == 0) {
        result = m_resources_list(&c, params, &e, false);
        cacheable = true;
    } else if (strcmp(m, "resources/templates/list") == 0) {
        result = m_resources_list(&c, params, &e, true);
        cacheable = true;
    } else if (strcmp(m, "resources/read") == 0) {
        result = m_resources_read(&c, params, &e);
        /* a resource's content may change at any time (otelprofd's do): stale at once */
        cacheable = true;
        ttl = 0;
        scope = "private";
    } else if (strcmp(m, "prompts/list") == 0) {
        result = m_prompts_list(&c, params, &e);
        cacheable = true;
    } else if (strcmp(m, "prompts/get") == 0) {
        result = m_prompts_get(&c, params, &e);
    } else if (strcmp(m, "completion/complete") == 0) {
        result = m_complete(&c, params, &e);
    } else {
        oc->http_status = 404;
        set_err(&e, MCP__METHOD_NOT_FOUND, "Method not found: %.128s%s", m,
                strcmp(m, "initialize") == 0 || strcmp(m, "ping") == 0 ||
                        strcmp(m, "logging/setLevel") == 0 ||
                        strncmp(m, "resources/subscribe", 19) == 0 ||
                        strncmp(m, "resources/unsubscribe", 21) == 0
                    ? " (removed in " MCP__VERSION_MODERN ")"
                    : "");
    }
    cJSON_Delete(c.input_requests);
    free(c.state_out);
    free(c.state_in);
    if (!result) {
        if (!e.code)
            set_err(&e, MCP__INTERNAL_ERROR, "internal error: out of memory");
        if (e.code == MCP__MISSING_CAPABILITY)
            oc->http_status = 400;
        return mcp__error_response(id, e.code, e.message, e.data);
    }
    const cJSON *rt = cJSON_GetObjectItemCaseSensitive(result, "resultType");
    if (!rt) {
        cJSON_AddStringToObject(result, "resultType", "complete");
        if (cacheable) {
            cJSON_AddNumberToObject(result, "ttlMs", (double)ttl);
            cJSON_AddStringToObject(result, "cacheScope", scope);
        }
    }
    cJSON *rmeta = cJSON_GetObjectItemCaseSensitive(result, "_meta");
    if (!rmeta)
        rmeta = cJSON_AddObjectToObject(result, "_meta");
    cJSON *info = cJSON_AddObjectToObject(rmeta, "io.modelcontextprotocol/serverInfo");
    cJSON_AddStringToObject(info, "name", srv->name);
    if (srv->title)
        cJSON_AddStringToObject(info, "title", srv->title);
    cJSON_AddStringToObject(info, "version", srv->version);
    return success_response(id, result);
}

/* A response built while some cJSON allocation failed may lack a member (an empty content
 * list with isError false was seen by tests/torture): cJSON's adders fail silently. Every
 * cJSON allocation goes through base_hook_malloc, so a failure anywhere in handling one
 * message is known here, and the honest answer is an internal error for that id. */
static cJSON *dispatch_one(mcp_server *srv, mcp_session *s, const cJSON *msg, const mcp_call *tc,
                           bool in_batch, mcp__outcome *oc)
{
    base_alloc_failed_reset();
    cJSON *resp = dispatch_one_unchecked(srv, s, msg, tc, in_batch, oc);
    if (!resp || !base_alloc_failed())
        return resp;
    cJSON_Delete(resp);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    if (!cJSON_IsString(id) && !cJSON_IsNumber(id))
        id = NULL;
    return mcp__error_response(id, MCP__INTERNAL_ERROR, "internal error: out of memory", NULL);
}

static cJSON *dispatch_one_unchecked(mcp_server *srv, mcp_session *s, const cJSON *msg,
                                     const mcp_call *tc, bool in_batch, mcp__outcome *oc)
{
    if (!cJSON_IsObject(msg)) {
        oc->had_invalid = true;
        return mcp__error_response(NULL, MCP__INVALID_REQUEST,
                                   "invalid request: a JSON-RPC message must be a JSON object",
                                   NULL);
    }
    const cJSON *jsonrpc = cJSON_GetObjectItemCaseSensitive(msg, "jsonrpc");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(msg, "id");
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(msg, "method");
    bool id_ok = cJSON_IsString(id) || cJSON_IsNumber(id);
    if (!cJSON_IsString(jsonrpc) || strcmp(jsonrpc->valuestring, "2.0") != 0) {
        oc->had_invalid = true;
        return mcp__error_response(id_ok ? id : NULL, MCP__INVALID_REQUEST,
                                   "invalid request: \"jsonrpc\" must be \"2.0\"", NULL);
    }
    if (!method) {
        if (id_ok && (cJSON_GetObjectItemCaseSensitive(msg, "result") ||
                      cJSON_GetObjectItemCaseSensitive(msg, "error"))) {
            deliver_response(s, msg);
            return NULL;
        }
        oc->had_invalid = true;
        return mcp__error_response(id_ok ? id : NULL, MCP__INVALID_REQUEST,
                                   "invalid request: no \"method\"", NULL);
    }
    if (id && !id_ok) {
        oc->had_invalid = true;
        return mcp__error_response(NULL, MCP__INVALID_REQUEST,
                                   "invalid request: \"id\" must be a string or a number", NULL);
    }
    if (!cJSON_IsString(method)) {
        oc->had_invalid = true;
        return mcp__error_response(id, MCP__INVALID_REQUEST,
                                   "invalid request: \"method\" must be a string", NULL);
    }
    const char *m = method->valuestring;
    if (!id)
        return NULL; /* notifications: initialized, cancelled (calls are synchronous), others */
    oc->had_request = true;
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(msg, "params");
    if (params && !cJSON_IsObject(params))
        return mcp__error_response(id, MCP__INVALID_PARAMS,
                                   "invalid params: \"params\" must be a JSON object", NULL);
    bool is_init = strcmp(m, "initialize") == 0;
    /* the era, per request: HTTP decides it (a NULL session there means 2026-07-28);
     * elsewhere a request carrying the 2026-07-28 _meta, or server/discover, is stateless */
    const mcp__emitter *tem = tc ? (const mcp__emitter *)tc->transport : NULL;
    bool modern = (tem && tem->header)
                      ? s == NULL
                      : (mcp__meta_version(msg) != NULL || strcmp(m, "server/discover") == 0);
    if (modern) {
        if (in_batch)
            return mcp__error_response(id, MCP__INVALID_REQUEST,
                                       "invalid request: no batches under " MCP__VERSION_MODERN,
                                       NULL);
        return modern_one(srv, msg, id, m, params, tc, oc);
    }
    if (is_init && in_batch)
        return mcp__error_response(id, MCP__INVALID_REQUEST,
                                   "initialize must not be part of a JSON-RPC batch", NULL);
    if (!is_init && strcmp(m, "ping") != 0 && s && !mcp__session_initialized(s))
        return mcp__error_response(id, MCP__INVALID_REQUEST,
                                   "server not initialized: send an \"initialize\" request first",
                                   NULL);

    call_ctx c = {0};
    c.srv = srv;
    c.s = s;
    c.em = tc ? (const mcp__emitter *)tc->transport : NULL;
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(params, "_meta");
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(meta, "progressToken");
    if (cJSON_IsString(tok) || cJSON_IsNumber(tok))
        c.progress_token = tok;
    c.log_threshold = DEFAULT_LEVEL;
    if (s) {
        mcp__session_version(s, c.version, sizeof c.version);
        pthread_mutex_lock(&s->mu);
        c.log_threshold = s->log_level;
        pthread_mutex_unlock(&s->mu);
    }
    c.method = m;
    c.target = str_item(params, strcmp(m, "resources/read") == 0 ? "uri" : "name");
    c.pub.session_id = tc ? tc->session_id : NULL;
    c.pub.protocol_version = c.version;
    c.pub.progress = call_progress;
    c.pub.log = call_log;
    c.pub.request = call_request;
    c.pub.transport = tc ? tc->transport : NULL;

    rpc_err e = {0};
    cJSON *result = NULL;
    if (is_init)
        result = m_initialize(&c, params, &e, oc);
    else if (strcmp(m, "ping") == 0)
        result = cJSON_CreateObject();
    else if (strcmp(m, "logging/setLevel") == 0)
        result = m_set_level(&c, params, &e);
    else if (strcmp(m, "tools/list") == 0)
        result = m_tools_list(&c, params, &e);
    else if (strcmp(m, "tools/call") == 0)
        result = m_tools_call(&c, params, &e);
    else if (strcmp(m, "resources/list") == 0)
        result = m_resources_list(&c, params, &e, false);
    else if (strcmp(m, "resources/templates/list") == 0)
        result = m_resources_list(&c, params, &e, true);
    else if (strcmp(m, "resources/read") == 0)
        result = m_resources_read(&c, params, &e);
    else if (srv->resources_subscribe && strcmp(m, "resources/subscribe") == 0)
        result = m_subscribe(&c, params, &e, true);
    else if (srv->resources_subscribe && strcmp(m, "resources/unsubscribe") == 0)
        result = m_subscribe(&c, params, &e, false);
    else if (strcmp(m, "prompts/list") == 0)
        result = m_prompts_list(&c, params, &e);
    else if (strcmp(m, "prompts/get") == 0)
        result = m_prompts_get(&c, params, &e);
    else if (strcmp(m, "completion/complete") == 0)
        result = m_complete(&c, params, &e);
    else
        set_err(&e, MCP__METHOD_NOT_FOUND, "method not found: %.128s", m);
    cJSON_Delete(c.input_requests);
    free(c.state_out);
    if (result)
        return success_response(id, result);
    if (!e.code)
        set_err(&e, MCP__INTERNAL_ERROR, "internal error: out of memory");
    return mcp__error_response(id, e.code, e.message, e.data);
}

cJSON *mcp__handle_json(mcp_server *srv, mcp_session *s, const cJSON *root,
                        const mcp_call *transport_call, mcp__outcome *outcome)
{
    mcp__outcome local = {0};
    mcp__outcome *oc = outcome ? outcome : &local;
    memset(oc, 0, sizeof *oc);
    if (!cJSON_IsArray(root))
        return dispatch_one(srv, s, root, transport_call, false, oc);
    char version[16] = "";
    if (s)
        mcp__session_version(s, version, sizeof version);
    if (strcmp(version, MCP__VERSION_BATCH) != 0) {
        oc->had_invalid = true;
        char msg[200];
        snprintf(msg, sizeof msg,
                 "invalid request: JSON-RPC batches are only accepted with protocol version %s "
                 "(this session: %s); send one message at a time",
                 MCP__VERSION_BATCH, version[0] ? version : "not initialized");
        return mcp__error_response(NULL, MCP__INVALID_REQUEST, msg, NULL);
    }
    int n = cJSON_GetArraySize(root);
    if (n == 0 || n > MCP__MAX_BATCH) {
        oc->had_invalid = true;
        return mcp__error_response(NULL, MCP__INVALID_REQUEST,
                                   n == 0 ? "invalid request: empty batch"
                                          : "invalid request: batch larger than 256 messages",
                                   NULL);
    }
    cJSON *out = cJSON_CreateArray();
    const cJSON *item;
    cJSON_ArrayForEach(item, root)
    {
        cJSON *r = dispatch_one(srv, s, item, transport_call, true, oc);
        if (r)
            mcp_json_push(out, r);
    }
    if (cJSON_GetArraySize(out) == 0) {
        cJSON_Delete(out);
        return NULL;
    }
    return out;
}

char *mcp_handle_message(mcp_server *srv, mcp_session *s, const char *text, size_t len,
                         const mcp_call *transport_call)
{
    if (!srv || (!text && len))
        return NULL;
    cJSON *root = mcp__parse(text ? text : "", len);
    cJSON *resp;
    if (!root && base_alloc_failed())
        resp = mcp__error_response(NULL, MCP__INTERNAL_ERROR,
                                   "internal error: out of memory reading the message", NULL);
    else if (!root)
        resp = mcp__error_response(NULL, MCP__PARSE_ERROR,
                                   "parse error: the message is not one valid JSON value", NULL);
    else
        resp = mcp__handle_json(srv, s, root, transport_call, NULL);
    cJSON_Delete(root);
    if (!resp)
        return NULL;
    char *out = cJSON_PrintUnformatted(resp);
    cJSON_Delete(resp);
    return out;
}
