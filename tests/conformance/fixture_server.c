/* fixture_server — the MCP conformance suite's fixture tools, resources and prompts,
 * served over Streamable HTTP by mcp/ alone, so the official suite tests our library and
 * not otelprofd's tools.
 *
 *   conformance_fixture PORT      serves http://127.0.0.1:PORT/mcp until SIGINT/SIGTERM
 *
 * Each fixture answers exactly what the suite's scenario text asks (see
 * docs/conformance.md).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mcp/mcp.h"

/* a 1x1 red PNG */
static const uint8_t png_1x1[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
    0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
    0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78,
    0xda, 0x63, 0xfc, 0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x05, 0x02, 0x00, 0x5f, 0xc8,
    0xf1, 0xd2, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
#define PNG_B64                                                                                    \
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5E"     \
    "rkJggg=="
/* a RIFF/WAVE header with an empty data chunk: 8 kHz mono 8-bit PCM */
#define WAV_B64 "UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQAAAAA="

static const char *const no_args = "{\"type\":\"object\",\"properties\":{}}";

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static cJSON *content_array(const char *json)
{
    return cJSON_Parse(json);
}

/* ---- tools -------------------------------------------------------------------------- */

static int t_simple_text(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)c, (void)a;
    out->text = strdup("This is a simple text response for testing.");
    return out->text ? 0 : -1;
}

static int t_image(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)c, (void)a;
    out->extra_content =
        content_array("[{\"type\":\"image\",\"data\":\"" PNG_B64 "\",\"mimeType\":\"image/png\"}]");
    return out->extra_content ? 0 : -1;
}

static int t_audio(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)c, (void)a;
    out->extra_content =
        content_array("[{\"type\":\"audio\",\"data\":\"" WAV_B64 "\",\"mimeType\":\"audio/wav\"}]");
    return out->extra_content ? 0 : -1;
}

static int t_embedded(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)c, (void)a;
    out->extra_content = content_array(
        "[{\"type\":\"resource\",\"resource\":{\"uri\":\"test://embedded-resource\","
        "\"mimeType\":\"text/plain\",\"text\":\"This is an embedded resource content.\"}}]");
    return out->extra_content ? 0 : -1;
}

static int t_mixed(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)c, (void)a;
    out->text = strdup("Multiple content types test:");
    out->extra_content = content_array(
        "[{\"type\":\"image\",\"data\":\"" PNG_B64 "\",\"mimeType\":\"image/png\"},"
        "{\"type\":\"resource\",\"resource\":{\"uri\":\"test://mixed-content-resource\","
        "\"mimeType\":\"application/json\",\"text\":\"{\\\"test\\\":\\\"data\\\",\\\"value\\\":"
        "123}\"}}]");
    return out->text && out->extra_content ? 0 : -1;
}

static int t_logging(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)a;
    /* the delays let the client see three separate notifications during the call */
    c->log(c, "info", "Tool execution started");
    sleep_ms(50);
    c->log(c, "info", "Tool processing data");
    sleep_ms(50);
    c->log(c, "info", "Tool execution completed");
    out->text = strdup("Tool with logging executed successfully");
    return out->text ? 0 : -1;
}

static int t_progress(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)a;
    c->progress(c, 0, 100, NULL);
    sleep_ms(50);
    c->progress(c, 50, 100, NULL);
    sleep_ms(50);
    c->progress(c, 100, 100, NULL);
    out->text = strdup("Tool with progress executed successfully");
    return out->text ? 0 : -1;
}

static int t_error(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)c, (void)a;
    mcp_tool_error(out, "This tool intentionally returns an error for testing");
    return 0;
}

static int t_schema_2020(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)c, (void)a;
    out->text = strdup("JSON Schema 2020-12 tool called");
    return out->text ? 0 : -1;
}

static const char schema_2020[] =
    "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\","
    "\"$defs\":{\"address\":{\"$anchor\":\"addressDef\",\"type\":\"object\",\"properties\":{"
    "\"street\":{\"type\":\"string\"},\"city\":{\"type\":\"string\"}}}},"
    "\"properties\":{\"name\":{\"type\":\"string\"},\"address\":{\"$ref\":\"#/$defs/"
    "address\"},\"contactMethod\":{\"type\":\"string\",\"enum\":[\"phone\",\"email\"]},"
    "\"phone\":{\"type\":\"string\"},\"email\":{\"type\":\"string\"}},"
    "\"allOf\":[{\"anyOf\":[{\"required\":[\"phone\"]},{\"required\":[\"email\"]}]}],"
    "\"if\":{\"properties\":{\"contactMethod\":{\"const\":\"phone\"}},\"required\":["
    "\"contactMethod\"]},\"then\":{\"required\":[\"phone\"]},\"else\":{\"required\":["
    "\"email\"]},\"additionalProperties\":false}";

/* Sends `method` to the client and renders its answer as the tool's text. */
static int ask_client(mcp_call *c, const char *method, cJSON *params, const char *prefix,
                      mcp_tool_result *out)
{
    char err[256];
    cJSON *res = c->request(c, method, params, 30000, err, sizeof err);
    if (!res) {
        mcp_tool_error(out, "%s failed: %s", method, err);
        return 0;
    }
    char *json = cJSON_PrintUnformatted(res);
    cJSON_Delete(res);
    if (!json)
        return -1;
    size_t n = strlen(prefix) + strlen(json) + 1;
    out->text = malloc(n);
    if (out->text)
        snprintf(out->text, n, "%s%s", prefix, json);
    free(json);
    return out->text ? 0 : -1;
}

static int t_sampling(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u;
    const char *prompt = cJSON_GetStringValue(cJSON_GetObjectItem(a, "prompt"));
    cJSON *p = cJSON_CreateObject();
    cJSON *msgs = cJSON_AddArrayToObject(p, "messages");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "user");
    cJSON *content = cJSON_AddObjectToObject(m, "content");
    cJSON_AddStringToObject(content, "type", "text");
    cJSON_AddStringToObject(content, "text", prompt ? prompt : "");
    cJSON_AddItemToArray(msgs, m);
    cJSON_AddNumberToObject(p, "maxTokens", 100);
    return ask_client(c, "sampling/createMessage", p, "LLM response: ", out);
}

static int elicit(mcp_call *c, const char *message, const char *schema, const char *prefix,
                  mcp_tool_result *out)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "message", message);
    cJSON *sch = cJSON_Parse(schema);
    if (!sch) {
        cJSON_Delete(p);
        return -1;
    }
    cJSON_AddItemToObject(p, "requestedSchema", sch);
    return ask_client(c, "elicitation/create", p, prefix, out);
}

static int t_elicitation(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u;
    const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(a, "message"));
    return elicit(c, msg ? msg : "",
                  "{\"type\":\"object\",\"properties\":{\"username\":{\"type\":\"string\","
                  "\"description\":\"User's response\"},\"email\":{\"type\":\"string\","
                  "\"description\":\"User's email address\"}},\"required\":[\"username\","
                  "\"email\"]}",
                  "User response: ", out);
}

static int t_elicit_defaults(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)a;
    return elicit(
        c, "Please review and update the form fields with defaults",
        "{\"type\":\"object\",\"properties\":{"
        "\"name\":{\"type\":\"string\",\"description\":\"User name\",\"default\":\"John Doe\"},"
        "\"age\":{\"type\":\"integer\",\"description\":\"User age\",\"default\":30},"
        "\"score\":{\"type\":\"number\",\"description\":\"User score\",\"default\":95.5},"
        "\"status\":{\"type\":\"string\",\"description\":\"User status\",\"enum\":["
        "\"active\",\"inactive\",\"pending\"],\"default\":\"active\"},"
        "\"verified\":{\"type\":\"boolean\",\"description\":\"Verification status\","
        "\"default\":true}}}",
        "Elicitation completed: ", out);
}

static int t_elicit_enums(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)a;
    return elicit(
        c, "Please select options from the enum fields",
        "{\"type\":\"object\",\"properties\":{"
        "\"untitledSingle\":{\"type\":\"string\",\"description\":\"Select one option\","
        "\"enum\":[\"option1\",\"option2\",\"option3\"]},"
        "\"titledSingle\":{\"type\":\"string\",\"description\":\"Select one option with titles\","
        "\"oneOf\":[{\"const\":\"value1\",\"title\":\"First Option\"},{\"const\":\"value2\","
        "\"title\":\"Second Option\"},{\"const\":\"value3\",\"title\":\"Third Option\"}]},"
        "\"legacyEnum\":{\"type\":\"string\",\"description\":\"Select one option (legacy)\","
        "\"enum\":[\"opt1\",\"opt2\",\"opt3\"],\"enumNames\":[\"Option One\",\"Option Two\","
        "\"Option Three\"]},"
        "\"untitledMulti\":{\"type\":\"array\",\"description\":\"Select multiple options\","
        "\"items\":{\"type\":\"string\",\"enum\":[\"option1\",\"option2\",\"option3\"]}},"
        "\"titledMulti\":{\"type\":\"array\",\"description\":\"Select multiple options with "
        "titles\",\"items\":{\"anyOf\":[{\"const\":\"value1\",\"title\":\"First Choice\"},"
        "{\"const\":\"value2\",\"title\":\"Second Choice\"},{\"const\":\"value3\","
        "\"title\":\"Third Choice\"}]}}}}",
        "Elicitation completed: ", out);
}

/* ---- resources ---------------------------------------------------------------------- */

static int r_static_text(void *u, mcp_call *c, const char *uri, mcp_resource_content *out)
{
    (void)u, (void)c, (void)uri;
    out->text = strdup("This is the content of the static text resource.");
    out->mime_type = "text/plain";
    return out->text ? 0 : -1;
}

static int r_static_binary(void *u, mcp_call *c, const char *uri, mcp_resource_content *out)
{
    (void)u, (void)c, (void)uri;
    out->blob = malloc(sizeof png_1x1);
    if (!out->blob)
        return -1;
    memcpy(out->blob, png_1x1, sizeof png_1x1);
    out->blob_len = sizeof png_1x1;
    out->mime_type = "image/png";
    return 0;
}

static int r_watched(void *u, mcp_call *c, const char *uri, mcp_resource_content *out)
{
    (void)u, (void)c, (void)uri;
    out->text = strdup("Watched resource content");
    out->mime_type = "text/plain";
    return out->text ? 0 : -1;
}

static int r_template(void *u, mcp_call *c, const char *uri, mcp_resource_content *out)
{
    (void)u, (void)c;
    static const char prefix[] = "test://template/", suffix[] = "/data";
    size_t len = strlen(uri), pl = sizeof prefix - 1, sl = sizeof suffix - 1;
    if (len <= pl + sl || len - pl - sl > 256)
        return -1;
    int id_len = (int)(len - pl - sl);
    const char *id = uri + pl;
    for (int i = 0; i < id_len; i++)
        if (id[i] == '"' || id[i] == '\\' || (unsigned char)id[i] < 0x20)
            return -1; /* keeps the hand-built JSON below well-formed */
    char buf[640];
    snprintf(buf, sizeof buf,
             "{\"id\":\"%.*s\",\"templateTest\":true,\"data\":\"Data for ID: %.*s\"}", id_len, id,
             id_len, id);
    out->text = strdup(buf);
    out->mime_type = "application/json";
    return out->text ? 0 : -1;
}

/* ---- prompts ------------------------------------------------------------------------ */

static int add_message(cJSON *messages, const char *role, const char *content_json)
{
    cJSON *content = cJSON_Parse(content_json);
    if (!content)
        return -1;
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", role);
    cJSON_AddItemToObject(m, "content", content);
    cJSON_AddItemToArray(messages, m);
    return 0;
}

static cJSON *text_content(const char *text)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "text");
    cJSON_AddStringToObject(o, "text", text);
    return o;
}

static void add_text_message(cJSON *messages, const char *text)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "user");
    cJSON_AddItemToObject(m, "content", text_content(text));
    cJSON_AddItemToArray(messages, m);
}

static int p_simple(void *u, mcp_call *c, const cJSON *a, cJSON *messages, char **desc, char *err,
                    size_t err_len)
{
    (void)u, (void)c, (void)a, (void)desc, (void)err, (void)err_len;
    add_text_message(messages, "This is a simple prompt for testing.");
    return 0;
}

static int p_args(void *u, mcp_call *c, const cJSON *a, cJSON *messages, char **desc, char *err,
                  size_t err_len)
{
    (void)u, (void)c, (void)desc;
    const char *a1 = cJSON_GetStringValue(cJSON_GetObjectItem(a, "arg1"));
    const char *a2 = cJSON_GetStringValue(cJSON_GetObjectItem(a, "arg2"));
    if (!a1 || !a2) {
        snprintf(err, err_len, "arg1 and arg2 are required");
        return -1;
    }
    size_t n = strlen(a1) + strlen(a2) + 64;
    char *text = malloc(n);
    if (!text)
        return -1;
    snprintf(text, n, "Prompt with arguments: arg1='%s', arg2='%s'", a1, a2);
    add_text_message(messages, text);
    free(text);
    return 0;
}

static int p_embedded(void *u, mcp_call *c, const cJSON *a, cJSON *messages, char **desc, char *err,
                      size_t err_len)
{
    (void)u, (void)c, (void)desc;
    const char *uri = cJSON_GetStringValue(cJSON_GetObjectItem(a, "resourceUri"));
    if (!uri) {
        snprintf(err, err_len, "resourceUri is required");
        return -1;
    }
    cJSON *res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "uri", uri);
    cJSON_AddStringToObject(res, "mimeType", "text/plain");
    cJSON_AddStringToObject(res, "text", "Embedded resource content for testing.");
    cJSON *content = cJSON_CreateObject();
    cJSON_AddStringToObject(content, "type", "resource");
    cJSON_AddItemToObject(content, "resource", res);
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "user");
    cJSON_AddItemToObject(m, "content", content);
    cJSON_AddItemToArray(messages, m);
    add_text_message(messages, "Please process the embedded resource above.");
    return 0;
}

static int p_image(void *u, mcp_call *c, const cJSON *a, cJSON *messages, char **desc, char *err,
                   size_t err_len)
{
    (void)u, (void)c, (void)a, (void)desc, (void)err, (void)err_len;
    if (add_message(messages, "user",
                    "{\"type\":\"image\",\"data\":\"" PNG_B64
                    "\",\"mimeType\":\"image/png\"}") != 0)
        return -1;
    add_text_message(messages, "Please analyze the image above.");
    return 0;
}

/* ---- 2026-07-28: multi round-trip (InputRequiredResult) fixtures --------------------- */

/* The client's answer to input request `key` of this retry, or NULL. */
static const cJSON *answer(const mcp_call *c, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->input_responses, key);
    return cJSON_IsObject(v) ? v : NULL;
}

static cJSON *elicit_request(const char *message, const char *field, const char *type)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"method\":\"elicitation/create\",\"params\":{\"mode\":\"form\",\"message\":\"%s\","
             "\"requestedSchema\":{\"type\":\"object\",\"properties\":{\"%s\":{\"type\":\"%s\"}},"
             "\"required\":[\"%s\"]}}}",
             message, field, type, field);
    return cJSON_Parse(buf);
}

static cJSON *sampling_request(const char *text, int max_tokens)
{
    char buf[512];
    snprintf(buf, sizeof buf,
             "{\"method\":\"sampling/createMessage\",\"params\":{\"messages\":[{\"role\":\"user\","
             "\"content\":{\"type\":\"text\",\"text\":\"%s\"}}],\"maxTokens\":%d}}",
             text, max_tokens);
    return cJSON_Parse(buf);
}

static cJSON *roots_request(void)
{
    return cJSON_Parse("{\"method\":\"roots/list\",\"params\":{}}");
}

/* Answers an InputRequiredResult with `requests` (taken) and `state`; when the client lacks
 * a capability a request needs, MissingRequiredClientCapability for `cap`. */
static int need_input(mcp_call *c, cJSON *requests, const char *state, const char *cap)
{
    if (mcp_input_required(c, requests, state) != 0)
        mcp_missing_capability(c, cap);
    return 0;
}

static int set_text(mcp_tool_result *out, const char *fmt, const char *arg)
{
    size_t n = strlen(fmt) + (arg ? strlen(arg) : 0) + 1;
    out->text = malloc(n);
    if (out->text)
        snprintf(out->text, n, fmt, arg ? arg : "");
    return out->text ? 0 : -1;
}

static const char *content_str(const cJSON *resp, const char *field)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(resp, "content"), field));
}

static int t_ir_elicitation(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)a;
    const cJSON *r = answer(c, "user_name");
    if (r) {
        const char *name = content_str(r, "name");
        return set_text(out, "Hello, %s!", name ? name : "(no name)");
    }
    cJSON *reqs = cJSON_CreateObject();
    cJSON_AddItemToObject(reqs, "user_name",
                          elicit_request("What is your name?", "name", "string"));
    return need_input(c, reqs, NULL, "elicitation");
}

static int t_ir_sampling(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)a;
    const cJSON *r = answer(c, "capital_question");
    if (r) {
        const char *text = content_str(r, "text");
        return set_text(out, "LLM response: %s", text ? text : "(no text)");
    }
    cJSON *reqs = cJSON_CreateObject();
    cJSON_AddItemToObject(reqs, "capital_question",
                          sampling_request("What is the capital of France?", 100));
    return need_input(c, reqs, NULL, "sampling");
}

static int t_ir_roots(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)a;
    const cJSON *r = answer(c, "client_roots");
    if (r) {
        char *json = cJSON_PrintUnformatted(cJSON_GetObjectItem(r, "roots"));
        int rc = set_text(out, "Client roots: %s", json ? json : "[]");
        free(json);
        return rc;
    }
    cJSON *reqs = cJSON_CreateObject();
    cJSON_AddItemToObject(reqs, "client_roots", roots_request());
    return need_input(c, reqs, NULL, "roots");
}

static int t_ir_state(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)a;
    if (answer(c, "confirm") && c->request_state && strcmp(c->request_state, "confirm") == 0)
        return set_text(out, "state-ok: the request state came back intact%s", NULL);
    cJSON *reqs = cJSON_CreateObject();
    cJSON_AddItemToObject(reqs, "confirm", elicit_request("Please confirm", "ok", "boolean"));
    return need_input(c, reqs, "confirm", "elicitation");
}

static int t_ir_tampered(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)a;
    if (answer(c, "confirm") && c->request_state && strcmp(c->request_state, "tamper-check") == 0)
        return set_text(out, "state-ok%s", NULL);
    cJSON *reqs = cJSON_CreateObject();
    cJSON_AddItemToObject(reqs, "confirm", elicit_request("Please confirm", "ok", "boolean"));
    return need_input(c, reqs, "tamper-check", "elicitation");
}

static int t_ir_multiple(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)a;
    if (answer(c, "user_name") && answer(c, "greeting") && answer(c, "client_roots") &&
        c->request_state && strcmp(c->request_state, "multiple") == 0) {
        const char *name = content_str(answer(c, "user_name"), "name");
        return set_text(out, "All inputs received for %s", name ? name : "(no name)");
    }
    cJSON *reqs = cJSON_CreateObject();
    cJSON_AddItemToObject(reqs, "user_name",
                          elicit_request("What is your name?", "name", "string"));
    cJSON_AddItemToObject(reqs, "greeting", sampling_request("Generate a greeting", 50));
    cJSON_AddItemToObject(reqs, "client_roots", roots_request());
    const char *cap = !mcp_client_has(c, "elicitation") ? "elicitation"
                      : !mcp_client_has(c, "sampling")  ? "sampling"
                                                        : "roots";
    return need_input(c, reqs, "multiple", cap);
}

static int t_ir_multi_round(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)a;
    const char *st = c->request_state;
    if (st && strncmp(st, "round2:", 7) == 0 && answer(c, "step2")) {
        const char *color = content_str(answer(c, "step2"), "color");
        size_t n = strlen(st) + (color ? strlen(color) : 0) + 64;
        out->text = malloc(n);
        if (out->text)
            snprintf(out->text, n, "Done: name %s, favorite color %s", st + 7,
                     color ? color : "(none)");
        return out->text ? 0 : -1;
    }
    cJSON *reqs = cJSON_CreateObject();
    if (st && strcmp(st, "round1") == 0 && answer(c, "step1")) {
        const char *name = content_str(answer(c, "step1"), "name");
        char state[300];
        snprintf(state, sizeof state, "round2:%.256s", name ? name : "");
        cJSON_AddItemToObject(
            reqs, "step2",
            elicit_request("Step 2: What is your favorite color?", "color", "string"));
        return need_input(c, reqs, state, "elicitation");
    }
    cJSON_AddItemToObject(reqs, "step1",
                          elicit_request("Step 1: What is your name?", "name", "string"));
    return need_input(c, reqs, "round1", "elicitation");
}

static int t_ir_capabilities(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)a;
    if (c->input_responses)
        return set_text(out, "Inputs received%s", NULL);
    cJSON *reqs = cJSON_CreateObject();
    if (mcp_client_has(c, "sampling"))
        cJSON_AddItemToObject(reqs, "sample", sampling_request("Say hello", 20));
    if (mcp_client_has(c, "elicitation"))
        cJSON_AddItemToObject(reqs, "ask", elicit_request("What is your name?", "name", "string"));
    if (mcp_client_has(c, "roots"))
        cJSON_AddItemToObject(reqs, "roots", roots_request());
    if (cJSON_GetArraySize(reqs) == 0) {
        cJSON_Delete(reqs);
        return set_text(out, "The client declared no capability to ask with%s", NULL);
    }
    return need_input(c, reqs, NULL, "sampling");
}

static int t_missing_capability(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)a;
    if (!mcp_client_has(c, "sampling")) {
        mcp_missing_capability(c, "sampling");
        return 0;
    }
    return set_text(out, "The client declared sampling%s", NULL);
}

static int t_streaming_elicitation(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)a;
    const cJSON *r = answer(c, "answer");
    if (r)
        return set_text(out, "Thanks%s", NULL);
    c->progress(c, 0, 1, "asking the user");
    cJSON *reqs = cJSON_CreateObject();
    cJSON_AddItemToObject(reqs, "answer", elicit_request("Anything to add?", "text", "string"));
    return need_input(c, reqs, NULL, "elicitation");
}

static int t_logging_tool(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)a;
    c->log(c, "info", "a log message, sent only when the request asked for info or lower");
    return set_text(out, "Logged%s", NULL);
}

static int t_custom_header(void *u, mcp_call *c, const cJSON *a, mcp_tool_result *out)
{
    (void)u, (void)c;
    const char *region = cJSON_GetStringValue(cJSON_GetObjectItem(a, "region"));
    return set_text(out, "Region: %s", region);
}

static int p_ir_prompt(void *u, mcp_call *c, const cJSON *a, cJSON *messages, char **desc,
                       char *err, size_t err_len)
{
    (void)u, (void)a, (void)desc, (void)err, (void)err_len;
    const cJSON *r = answer(c, "user_context");
    if (r) {
        const char *ctx = content_str(r, "context");
        char buf[512];
        snprintf(buf, sizeof buf, "Use this context: %.400s", ctx ? ctx : "(none)");
        add_text_message(messages, buf);
        return 0;
    }
    cJSON *reqs = cJSON_CreateObject();
    cJSON_AddItemToObject(
        reqs, "user_context",
        elicit_request("What context should the prompt use?", "context", "string"));
    if (mcp_input_required(c, reqs, NULL) != 0)
        mcp_missing_capability(c, "elicitation");
    return 0;
}

static int complete_args(void *u, const char *argument, const char *prefix, const cJSON *ctx,
                         cJSON *values, bool *has_more, int *total)
{
    (void)u, (void)ctx;
    static const char *const words[] = {"paris", "park", "party", "test", "testing", "tested"};
    int n = 0;
    if (strcmp(argument, "arg1") != 0 && strcmp(argument, "arg2") != 0)
        return 0;
    size_t pl = strlen(prefix);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strncmp(words[i], prefix, pl) == 0) {
            cJSON_AddItemToArray(values, cJSON_CreateString(words[i]));
            n++;
        }
    *has_more = false;
    *total = n;
    return 0;
}

/* ---- main --------------------------------------------------------------------------- */

#define TOOL(n, d, f)                                                                              \
    {                                                                                              \
        .name = n, .description = d, .input_schema = no_args, .fn = f                              \
    }

int main(int argc, char **argv)
{
    if (argc != 2 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    mcp_server_info info = {
        .name = "otelprofd-conformance-fixture", .version = "0.1.0", .resources_subscribe = true};
    mcp_server *srv = mcp_server_new(&info);
    if (!srv)
        return 1;

    const mcp_tool_def tools[] = {
        TOOL("test_simple_text", "Returns simple text content", t_simple_text),
        TOOL("test_image_content", "Returns image content", t_image),
        TOOL("test_audio_content", "Returns audio content", t_audio),
        TOOL("test_embedded_resource", "Returns an embedded resource", t_embedded),
        TOOL("test_multiple_content_types", "Returns text, image and resource content", t_mixed),
        TOOL("test_tool_with_logging", "Sends three log notifications while running", t_logging),
        TOOL("test_tool_with_progress", "Reports progress 0, 50, 100 of 100", t_progress),
        TOOL("test_error_handling", "Always returns an error result", t_error),
        {.name = "test_sampling",
         .description = "Asks the client's LLM (sampling/createMessage)",
         .input_schema = "{\"type\":\"object\",\"properties\":{\"prompt\":{\"type\":"
                         "\"string\",\"description\":\"The prompt to send to the LLM\"}},"
                         "\"required\":[\"prompt\"]}",
         .fn = t_sampling},
        {.name = "test_elicitation",
         .description = "Asks the user for input (elicitation/create)",
         .input_schema = "{\"type\":\"object\",\"properties\":{\"message\":{\"type\":"
                         "\"string\",\"description\":\"The message to show the user\"}},"
                         "\"required\":[\"message\"]}",
         .fn = t_elicitation},
        TOOL("test_elicitation_sep1034_defaults", "Elicitation with defaults (SEP-1034)",
             t_elicit_defaults),
        TOOL("test_elicitation_sep1330_enums", "Elicitation with enum schemas (SEP-1330)",
             t_elicit_enums),
        {.name = "json_schema_2020_12_tool",
         .description = "Tool with JSON Schema 2020-12 features",
         .input_schema = schema_2020,
         .fn = t_schema_2020},
        /* 2026-07-28 */
        TOOL("test_input_required_result_elicitation", "Asks the user's name (MRTR)",
             t_ir_elicitation),
        TOOL("test_input_required_result_sampling", "Asks the client's LLM (MRTR)", t_ir_sampling),
        TOOL("test_input_required_result_list_roots", "Asks the client's roots (MRTR)", t_ir_roots),
        TOOL("test_input_required_result_request_state", "Round-trips a request state (MRTR)",
             t_ir_state),
        TOOL("test_input_required_result_multiple_inputs", "Asks three things at once (MRTR)",
             t_ir_multiple),
        TOOL("test_input_required_result_multi_round", "Asks in two rounds (MRTR)",
             t_ir_multi_round),
        TOOL("test_input_required_result_tampered_state", "Checks its request state (MRTR)",
             t_ir_tampered),
        TOOL("test_input_required_result_capabilities", "Asks only what the client can answer",
             t_ir_capabilities),
        TOOL("test_missing_capability", "Needs the client's sampling capability",
             t_missing_capability),
        TOOL("test_streaming_elicitation", "Sends progress, then asks the user (MRTR)",
             t_streaming_elicitation),
        TOOL("test_logging_tool", "Sends one info log message", t_logging_tool),
        {.name = "test_custom_header",
         .description = "Mirrors its region argument into the Mcp-Param-Region header",
         .input_schema = "{\"type\":\"object\",\"properties\":{\"region\":{\"type\":"
                         "\"string\",\"description\":\"A region name\",\"x-mcp-header\":"
                         "\"Region\"}},\"required\":[\"region\"]}",
         .fn = t_custom_header},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++)
        rc |= mcp_server_add_tool(srv, &tools[i]);

    const mcp_resource_def resources[] = {
        {.uri = "test://static-text",
         .name = "static-text",
         .description = "A static text resource",
         .mime_type = "text/plain",
         .fn = r_static_text},
        {.uri = "test://static-binary",
         .name = "static-binary",
         .description = "A static binary resource (a 1x1 PNG)",
         .mime_type = "image/png",
         .fn = r_static_binary},
        {.uri = "test://watched-resource",
         .name = "watched-resource",
         .description = "A resource clients may subscribe to",
         .mime_type = "text/plain",
         .fn = r_watched},
        {.uri = "test://template/{id}/data",
         .is_template = true,
         .name = "template-data",
         .description = "A resource template with an id parameter",
         .mime_type = "application/json",
         .fn = r_template},
    };
    for (size_t i = 0; i < sizeof resources / sizeof resources[0]; i++)
        rc |= mcp_server_add_resource(srv, &resources[i]);

    static const mcp_prompt_arg args2[] = {{"arg1", "First test argument", true},
                                           {"arg2", "Second test argument", true}};
    static const mcp_prompt_arg arg_uri[] = {{"resourceUri", "URI of the resource to embed", true}};
    const mcp_prompt_def prompts[] = {
        {.name = "test_simple_prompt",
         .description = "A simple prompt without arguments",
         .fn = p_simple},
        {.name = "test_prompt_with_arguments",
         .description = "A prompt with two arguments",
         .args = args2,
         .n_args = 2,
         .fn = p_args,
         .complete = complete_args},
        {.name = "test_prompt_with_embedded_resource",
         .description = "A prompt embedding a resource",
         .args = arg_uri,
         .n_args = 1,
         .fn = p_embedded},
        {.name = "test_prompt_with_image", .description = "A prompt with an image", .fn = p_image},
        {.name = "test_input_required_result_prompt",
         .description = "Asks the user for context before it renders (MRTR)",
         .fn = p_ir_prompt},
    };
    for (size_t i = 0; i < sizeof prompts / sizeof prompts[0]; i++)
        rc |= mcp_server_add_prompt(srv, &prompts[i]);
    if (rc != 0) {
        fprintf(stderr, "conformance fixture: a registration failed\n");
        mcp_server_free(srv);
        return 1;
    }

    char addr[32], err[256];
    snprintf(addr, sizeof addr, "127.0.0.1:%d", atoi(argv[1]));
    mcp_http_config cfg = {.addr = addr};
    mcp_http *h = mcp_http_start(srv, &cfg, err, sizeof err);
    if (!h) {
        fprintf(stderr, "conformance fixture: %s\n", err);
        mcp_server_free(srv);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    fprintf(stderr, "conformance fixture: serving http://%s/mcp\n", addr);
    while (!stop_flag)
        sleep_ms(100);
    mcp_http_stop(h);
    mcp_server_free(srv);
    return 0;
}
