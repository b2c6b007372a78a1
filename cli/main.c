/* cli/main.c — the otelprofd binary: option parsing (flags over environment over
 * defaults), `serve` (store + OTLP listeners + MCP Streamable HTTP and the HTTP API until
 * SIGINT or SIGTERM) and `mcp` (the same with MCP over stdio; nothing else on stdout). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "base/base.h"
#include "cli/cli.h"
#include "log/log.h"
#include "mcp/mcp.h"
#include "receiver/receiver.h"
#include "render/render.h"
#include "tools/tools.h"
#include "translate/translate.h"
#include "window/window.h"

/* CMakeLists.txt passes project(VERSION); the fallback only serves non-CMake builds */
#ifndef OTELPROFD_VERSION
#define OTELPROFD_VERSION "unknown"
#endif

/* the bundled --demo profiles; CMakeLists.txt points this at the source tree */
#ifndef OTELPROFD_DEMO_DIR_DEFAULT
#define OTELPROFD_DEMO_DIR_DEFAULT "examples/profiles"
#endif

#define EXIT_USAGE   CLI_EXIT_USAGE
#define MAX_LIST     32                /* --mcp-allow-origin / --mcp-allow-host values */
#define MAX_PEM_FILE ((size_t)1 << 20) /* a certificate chain is a few KiB */

typedef enum opt_kind {
    OPT_ADDR,
    OPT_DURATION,
    OPT_SIZE,
    OPT_THREADS,
    OPT_LOG_LEVEL,
    OPT_STRING,
    OPT_ORIGINS,
    OPT_HOSTS,
    OPT_FILE,
    OPT_DIR,
    OPT_WAL_SYNC,
    OPT_URLS,
    OPT_HEADERS,
    OPT_NATS,     /* a string kept as given (--nats*) */
    OPT_REPLICAS, /* --nats-replicas */
    OPT_ROLE      /* --role */
} opt_kind;

typedef struct opt_def {
    const char *flag; /* without the leading "--" */
    const char *env;
    const char *def;
    opt_kind kind;
    const char *help;
} opt_def;

enum {
    O_OTLP_GRPC,
    O_OTLP_HTTP,
    O_MCP_HTTP,
    O_RETENTION,
    O_RESOLUTION,
    O_MEMORY_LIMIT,
    O_MAX_MESSAGE_SIZE,
    O_MAX_INFLIGHT_BYTES,
    O_GRPC_THREADS,
    O_LOG_LEVEL,
    O_MCP_TOKEN,
    O_MCP_ALLOW_ORIGIN,
    O_MCP_ALLOW_HOST,
    O_TLS_CERT,
    O_TLS_KEY,
    O_TLS_CLIENT_CA,
    O_DATA_DIR,
    O_WAL_SYNC,
    O_WAL_SYNC_INTERVAL,
    O_WAL_SEGMENT_SIZE,
    O_FORWARD,
    O_FORWARD_HEADER,
    O_FORWARD_QUEUE,
    O_FORWARD_TLS_CA,
    O_NATS,
    O_NATS_STREAM,
    O_NATS_SUBJECTS,
    O_NATS_CREDS,
    O_NATS_TLS_CA,
    O_NATS_TLS_CERT,
    O_NATS_TLS_KEY,
    O_NATS_REPLICAS,
    O_ROLE,
    O_COUNT
};

static const opt_def options[O_COUNT] = {
    [O_OTLP_GRPC] = {"otlp-grpc", "OTELPROFD_OTLP_GRPC", "127.0.0.1:4317", OPT_ADDR,
                     "OTLP/gRPC listener address, or off"},
    [O_OTLP_HTTP] = {"otlp-http", "OTELPROFD_OTLP_HTTP", "127.0.0.1:4318", OPT_ADDR,
                     "OTLP/HTTP listener address, or off"},
    [O_MCP_HTTP] = {"mcp-http", "OTELPROFD_MCP_HTTP", "127.0.0.1:4319", OPT_ADDR,
                    "MCP Streamable HTTP (/mcp) and HTTP API (/api/pprof, /metrics, /healthz) "
                    "listener, or off"},
    [O_RETENTION] = {"retention", "OTELPROFD_RETENTION", "1h", OPT_DURATION,
                     "how far back profiles are kept"},
    [O_RESOLUTION] = {"resolution", "OTELPROFD_RESOLUTION", "10s", OPT_DURATION,
                      "width of a time bucket"},
    [O_MEMORY_LIMIT] = {"memory-limit", "OTELPROFD_MEMORY_LIMIT", "512MiB", OPT_SIZE,
                        "store memory before the oldest buckets are dropped"},
    [O_MAX_MESSAGE_SIZE] = {"max-message-size", "OTELPROFD_MAX_MESSAGE_SIZE", "64MiB", OPT_SIZE,
                            "largest OTLP request, after decompression"},
    [O_MAX_INFLIGHT_BYTES] = {"max-inflight-bytes", "OTELPROFD_MAX_INFLIGHT_BYTES", "auto",
                              OPT_SIZE,
                              "OTLP request bytes held at once (auto: 4 x --max-message-size); "
                              "past it 503 / UNAVAILABLE"},
    [O_GRPC_THREADS] = {"grpc-threads", "OTELPROFD_GRPC_THREADS", "2", OPT_THREADS,
                        "gRPC completion-queue threads (1-64)"},
    [O_LOG_LEVEL] = {"log-level", "OTELPROFD_LOG_LEVEL", "info", OPT_LOG_LEVEL,
                     "debug, info, warn or error"},
    [O_MCP_TOKEN] = {"mcp-token", "OTELPROFD_MCP_TOKEN", "", OPT_STRING,
                     "bearer token the MCP listener requires (empty: none)"},
    [O_MCP_ALLOW_ORIGIN] = {"mcp-allow-origin", "OTELPROFD_MCP_ALLOW_ORIGIN", "", OPT_ORIGINS,
                            "extra allowed browser Origin (repeatable; env: comma-separated)"},
    [O_MCP_ALLOW_HOST] = {"mcp-allow-host", "OTELPROFD_MCP_ALLOW_HOST", "", OPT_HOSTS,
                          "extra name the MCP listener answers to in the Host header, e.g. "
                          "the DNS name clients use (repeatable; env: comma-separated; * = "
                          "any, needs --mcp-token)"},
    [O_TLS_CERT] = {"tls-cert", "OTELPROFD_TLS_CERT", "", OPT_FILE,
                    "PEM certificate (chain): TLS on the gRPC, OTLP/HTTP and MCP listeners"},
    [O_TLS_KEY] = {"tls-key", "OTELPROFD_TLS_KEY", "", OPT_FILE,
                   "PEM private key of --tls-cert (unencrypted; both or neither)"},
    [O_TLS_CLIENT_CA] = {"tls-client-ca", "OTELPROFD_TLS_CLIENT_CA", "", OPT_FILE,
                         "PEM CA: clients must present a certificate it signed (mTLS)"},
    [O_DATA_DIR] = {"data-dir", "OTELPROFD_DATA_DIR", "", OPT_DIR,
                    "keep a write-ahead log here: acknowledged data survives restarts"},
    [O_WAL_SYNC] = {"wal-sync", "OTELPROFD_WAL_SYNC", "always", OPT_WAL_SYNC,
                    "always (fsync before acknowledging, shared), interval or off"},
    [O_WAL_SYNC_INTERVAL] = {"wal-sync-interval", "OTELPROFD_WAL_SYNC_INTERVAL", "1s", OPT_DURATION,
                             "with --wal-sync interval: how often to fsync"},
    [O_WAL_SEGMENT_SIZE] = {"wal-segment-size", "OTELPROFD_WAL_SEGMENT_SIZE", "64MiB", OPT_SIZE,
                            "a log segment file is closed past this size"},
    [O_FORWARD] = {"forward", "OTELPROFD_FORWARD", "", OPT_URLS,
                   "send everything accepted on as OTLP (grpc://, grpcs://, http://, https://; "
                   "repeatable)"},
    [O_FORWARD_HEADER] = {"forward-header", "OTELPROFD_FORWARD_HEADER", "", OPT_HEADERS,
                          "K=V header on every forwarded request (repeatable)"},
    [O_FORWARD_QUEUE] = {"forward-queue", "OTELPROFD_FORWARD_QUEUE", "256MiB", OPT_SIZE,
                         "without --data-dir: forward backlog kept in memory (oldest dropped)"},
    [O_FORWARD_TLS_CA] = {"forward-tls-ca", "OTELPROFD_FORWARD_TLS_CA", "", OPT_FILE,
                          "PEM CA for grpcs:// and https:// destinations (default: the system's)"},
    [O_NATS] = {"nats", "OTELPROFD_NATS", "", OPT_NATS,
                "NATS server URLs (nats:// or tls://, comma-separated): the log is a JetStream "
                "stream shared by every node (acknowledged once a quorum holds it)"},
    [O_NATS_STREAM] = {"nats-stream", "OTELPROFD_NATS_STREAM", "OTELPROFD", OPT_NATS,
                       "JetStream stream name (created when missing, checked when present)"},
    [O_NATS_SUBJECTS] = {"nats-subjects", "OTELPROFD_NATS_SUBJECTS", "", OPT_NATS,
                         "subject this node's windows read, e.g. otelprofd.profiles.checkout "
                         "(wildcards * >; empty: all services)"},
    [O_NATS_CREDS] = {"nats-creds", "OTELPROFD_NATS_CREDS", "", OPT_NATS,
                      "NATS credentials file (JWT + NKey seed)"},
    [O_NATS_TLS_CA] = {"nats-tls-ca", "OTELPROFD_NATS_TLS_CA", "", OPT_NATS,
                       "PEM CA of the NATS servers (turns TLS on)"},
    [O_NATS_TLS_CERT] = {"nats-tls-cert", "OTELPROFD_NATS_TLS_CERT", "", OPT_NATS,
                         "PEM client certificate for NATS (mutual TLS; with --nats-tls-key)"},
    [O_NATS_TLS_KEY] = {"nats-tls-key", "OTELPROFD_NATS_TLS_KEY", "", OPT_NATS,
                        "PEM private key of --nats-tls-cert"},
    [O_NATS_REPLICAS] = {"nats-replicas", "OTELPROFD_NATS_REPLICAS", "1", OPT_REPLICAS,
                         "replicas of a stream otelprofd creates (3 in a cluster; 1-5)"},
    [O_ROLE] = {"role", "OTELPROFD_ROLE", "all", OPT_ROLE,
                "with --nats: ingest (OTLP listeners, no windows), query (windows fed from the "
                "stream, no OTLP listeners) or all (both)"},
};

/* A repeatable option: the flags' values, or else the environment's comma-separated list. */
typedef struct str_list {
    const char *v[MAX_LIST + 1]; /* NULL-terminated when handed on */
    size_t n;
    char *env; /* copy of the environment value the entries point into */
} str_list;

typedef struct serve_opts {
    const char *addr[3]; /* grpc, http, mcp; NULL = off */
    int64_t retention_ns, resolution_ns;
    uint64_t memory_limit, max_message_size;
    uint64_t max_inflight_bytes; /* 0 = auto */
    int grpc_threads;
    base_log_level log_level;
    const char *mcp_token;   /* NULL = none */
    str_list origins;        /* --mcp-allow-origin */
    str_list hosts;          /* --mcp-allow-host */
    bool stdio;              /* `otelprofd mcp` */
    const char *connect;     /* `otelprofd mcp --connect URL` */
    bool demo;               /* --demo: preload examples/profiles */
    const char *tls_file[3]; /* cert, key, client CA paths; NULL = not given */
    const char *tls_ca;      /* `mcp --connect`: the daemon's CA (its --tls-cert/--tls-key
                                are then the client certificate) */
    char *tls_pem[3];        /* their contents, checked by load_tls */
    const char *data_dir;    /* NULL = memory only */
    log_sync_mode wal_sync;
    int64_t wal_sync_interval_ns;
    uint64_t wal_segment_size, forward_queue;
    str_list forward;         /* --forward URLs */
    str_list forward_headers; /* --forward-header K=V */
    const char *forward_tls_ca;
    const char *nats[O_NATS_TLS_KEY - O_NATS + 1]; /* --nats .. --nats-tls-key; NULL = unset */
    int nats_replicas;
    bool role_ingest, role_query; /* --role all sets both */
} serve_opts;

static void print_options(FILE *out, bool stdio)
{
    for (int i = 0; i < O_COUNT; i++) {
        char left[64];
        static const char *const meta[] = {
            [OPT_ADDR] = "ADDR",      [OPT_DURATION] = "DURATION", [OPT_SIZE] = "SIZE",
            [OPT_THREADS] = "N",      [OPT_LOG_LEVEL] = "LEVEL",   [OPT_STRING] = "TOKEN",
            [OPT_ORIGINS] = "ORIGIN", [OPT_HOSTS] = "NAME",        [OPT_FILE] = "FILE",
            [OPT_DIR] = "DIR",        [OPT_WAL_SYNC] = "MODE",     [OPT_URLS] = "URL",
            [OPT_HEADERS] = "K=V",    [OPT_NATS] = "VALUE",        [OPT_REPLICAS] = "N",
            [OPT_ROLE] = "ROLE"};
        snprintf(left, sizeof left, "--%s %s", options[i].flag, meta[options[i].kind]);
        const char *def = stdio && i == O_MCP_HTTP ? "off" : options[i].def;
        fprintf(out, "  %-28s %s\n  %-28s default %s, env %s\n", left, options[i].help, "",
                def[0] ? def : "none", options[i].env);
    }
    fprintf(out, "  %-28s %s\n  %-28s %s\n", "--demo",
            "preload the bundled example profiles (examples/profiles, or $OTELPROFD_DEMO_DIR)", "",
            "with their times moved to now");
    fprintf(out, "  %-28s %s\n  %-28s %s\n\n", "--help", "show this help", "--version",
            "print the version");
}

static void usage(FILE *out)
{
    fprintf(out, "usage: otelprofd [serve] [options]\n"
                 "       otelprofd mcp [options]              MCP over stdio, receiver embedded\n"
                 "       otelprofd mcp --connect URL [--mcp-token T]\n"
                 "                                            MCP over stdio, bridged to a "
                 "running otelprofd\n"
                 "       otelprofd query [TOOL ['{json}']] [--connect URL] [--json]\n"
                 "                                            call one tool on a running "
                 "otelprofd\n"
                 "       otelprofd send [--endpoint HOST:PORT] [--http] FILE.pprof...\n"
                 "                                            export pprof files to an OTLP "
                 "receiver\n\n"
                 "Receives OpenTelemetry profiles (OTLP), keeps the recent past in memory and\n"
                 "answers questions about it through MCP tools (Streamable HTTP on\n"
                 "http://127.0.0.1:4319/mcp). Try `otelprofd mcp --help`, `otelprofd query "
                 "--help`.\n\n"
                 "serve options (each also read from the environment; flags win):\n");
    print_options(out, false);
    fprintf(out, "Listeners bind 127.0.0.1 by default, so only this machine can reach them. To\n"
                 "accept connections from elsewhere, give an address on all interfaces, e.g.\n"
                 "--otlp-grpc 0.0.0.0:4317 --otlp-http 0.0.0.0:4318 (and set --mcp-token before\n"
                 "exposing --mcp-http). Port 0 picks a free port.\n"
                 "DNS rebinding: every request to --mcp-http (/mcp, the HTTP API, /healthz)\n"
                 "must name in its Host header localhost, an IP address, the host of\n"
                 "--mcp-http or a --mcp-allow-host name; others get 403 (no Host: 400). The\n"
                 "port is not compared. Clients that connect by a DNS name need\n"
                 "--mcp-allow-host NAME, on 0.0.0.0:4319 too (a wildcard bind allows no other\n"
                 "name by itself); --mcp-allow-host '*' allows any and needs --mcp-token.\n"
                 "HTTP API: GET /api/pprof?profile_type=cpu:nanoseconds&selector=...&start=..."
                 "&end=...\n"
                 "(gzipped pprof: go tool pprof -top 'http://127.0.0.1:4319/api/pprof?...'), "
                 "/metrics, /healthz.\n"
                 "TLS: --tls-cert FILE --tls-key FILE (PEM, read once at startup) switch the\n"
                 "gRPC, OTLP/HTTP and MCP listeners to TLS (https://); --tls-client-ca FILE also\n"
                 "requires client certificates signed by that CA on all three (mTLS). A file\n"
                 "that is missing, not PEM, or a key that does not match the certificate: exit 2.\n"
                 "Durability: without --data-dir everything is in memory and a restart starts\n"
                 "empty. With --data-dir DIR a request is acknowledged only once it is in DIR's\n"
                 "write-ahead log (--wal-sync always: fsync'ed, shared by concurrent requests;\n"
                 "interval: fsync every --wal-sync-interval, a power cut can lose that much;\n"
                 "off: the kernel decides); a restart replays the last --retention before the\n"
                 "listeners open; a full or unwritable disk answers 503 / UNAVAILABLE.\n"
                 "Forwarding: --forward grpc://H:P, grpcs://H:P, http://H:P[/path] or\n"
                 "https://... sends every accepted request on as OTLP (gzip), retrying with\n"
                 "backoff; with --data-dir the backlog survives restarts (at least once),\n"
                 "without it at most --forward-queue is kept in memory.\n"
                 "Cluster: --nats URL[,URL...] makes the log a NATS JetStream stream shared by\n"
                 "many nodes: --role ingest nodes answer OTLP only after the stream's quorum\n"
                 "holds a request (503 / UNAVAILABLE when it cannot), --role query nodes replay\n"
                 "the stream from now - retention and follow it (no OTLP listeners), --role all\n"
                 "does both. The stream is created when missing (--nats-replicas) and refused\n"
                 "when present with other settings.\n"
                 "Sizes: 64MiB, 512MB, 1GiB or bytes. Durations: 90s, 15m, 1h, 2d.\n"
                 "Signals: SIGINT or SIGTERM stop the listeners (requests in flight get 5 s) and\n"
                 "exit 0; a second one exits at once with status 1.\n");
}

static void usage_mcp(FILE *out)
{
    fprintf(out,
            "usage: otelprofd mcp [options]\n"
            "       otelprofd mcp --connect URL [--mcp-token TOKEN]\n"
            "                     [--tls-ca FILE] [--tls-cert FILE --tls-key FILE]\n\n"
            "Speaks MCP over stdio (newline-delimited JSON-RPC; nothing else on stdout, logs\n"
            "on stderr), for MCP clients that spawn their servers (Claude Desktop, Claude\n"
            "Code, Cursor). Without --connect the OTLP receiver runs in this process, so\n"
            "exporters must send to it; the MCP HTTP listener is off unless --mcp-http is\n"
            "given. With --connect, stdio is bridged to a running otelprofd (e.g.\n"
            "--connect %s) and no other option applies but --mcp-token and, for an\n"
            "https:// URL, --tls-ca (the daemon's CA, PEM; default: the system's) and\n"
            "--tls-cert/--tls-key (a client certificate, for a daemon with --tls-client-ca).\n\n"
            "options (each also read from the environment; flags win):\n",
            CLI_DEFAULT_MCP_URL);
    print_options(out, true);
    fprintf(out, "example client configuration:\n"
                 "  {\"mcpServers\": {\"otelprofd\": {\"command\": \"otelprofd\", \"args\": "
                 "[\"mcp\"]}}}\n");
}

static int bad_value(const char *source, const char *value, const char *accepted)
{
    fprintf(stderr, "otelprofd: %s: cannot parse \"%s\": %s\n", source, value, accepted);
    return -1;
}

/* The list a repeatable option collects into. */
static str_list *list_of(serve_opts *o, int i)
{
    switch (i) {
    case O_MCP_ALLOW_HOST:
        return &o->hosts;
    case O_FORWARD:
        return &o->forward;
    case O_FORWARD_HEADER:
        return &o->forward_headers;
    default:
        return &o->origins;
    }
}

/* Parses `value` of option `i` into `o`; `source` names where it came from for errors. */
static int apply_option(serve_opts *o, int i, const char *value, const char *source)
{
    switch (options[i].kind) {
    case OPT_ADDR: {
        int idx = i == O_OTLP_GRPC ? 0 : i == O_OTLP_HTTP ? 1 : 2;
        if (strcmp(value, "off") == 0) {
            o->addr[idx] = NULL;
            return 0;
        }
        char host[256];
        int port;
        if (base_split_host_port(value, host, sizeof host, &port) != 0)
            return bad_value(source, value,
                             "use HOST:PORT (e.g. 127.0.0.1:4317, 0.0.0.0:4317, [::1]:4317) "
                             "or off");
        o->addr[idx] = value;
        return 0;
    }
    case OPT_DURATION: {
        int64_t ns;
        if (base_parse_duration(value, &ns) != 0 || ns <= 0)
            return bad_value(source, value, "use a duration like 90s, 15m, 1h");
        if (i == O_RETENTION)
            o->retention_ns = ns;
        else if (i == O_WAL_SYNC_INTERVAL)
            o->wal_sync_interval_ns = ns;
        else
            o->resolution_ns = ns;
        return 0;
    }
    case OPT_SIZE: {
        uint64_t bytes;
        if (i == O_MAX_INFLIGHT_BYTES) {
            if (strcmp(value, "auto") == 0) {
                o->max_inflight_bytes = 0;
            } else if (base_parse_size(value, &bytes) != 0 || bytes < ((uint64_t)1 << 20)) {
                return bad_value(source, value, "use auto or a size like 256MiB (at least 1MiB)");
            } else {
                o->max_inflight_bytes = bytes;
            }
        } else if (i == O_WAL_SEGMENT_SIZE) {
            if (base_parse_size(value, &bytes) != 0 || bytes < 4096 || bytes > ((uint64_t)1 << 32))
                return bad_value(source, value, "use a size like 64MiB (between 4KiB and 4GiB)");
            o->wal_segment_size = bytes;
        } else if (i == O_FORWARD_QUEUE) {
            if (base_parse_size(value, &bytes) != 0 || bytes < ((uint64_t)1 << 20))
                return bad_value(source, value, "use a size like 256MiB (at least 1MiB)");
            o->forward_queue = bytes;
        } else if (i == O_MEMORY_LIMIT) {
            if (base_parse_size(value, &bytes) != 0 || bytes < ((uint64_t)1 << 20))
                return bad_value(source, value, "use a size like 256MiB, 1GiB (at least 1MiB)");
            o->memory_limit = bytes;
        } else {
            if (base_parse_size(value, &bytes) != 0 || bytes < 1024 || bytes > ((uint64_t)1 << 30))
                return bad_value(source, value,
                                 "use a size like 4MiB, 64MiB (between 1KiB and 1GiB)");
            o->max_message_size = bytes;
        }
        return 0;
    }
    case OPT_THREADS: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end || v < 1 || v > 64)
            return bad_value(source, value, "use a number of threads from 1 to 64");
        o->grpc_threads = (int)v;
        return 0;
    }
    case OPT_STRING:
        o->mcp_token = value[0] ? value : NULL;
        return 0;
    case OPT_FILE:
        if (i == O_FORWARD_TLS_CA)
            o->forward_tls_ca = value[0] ? value : NULL;
        else
            o->tls_file[i - O_TLS_CERT] = value[0] ? value : NULL;
        return 0;
    case OPT_DIR:
        o->data_dir = value[0] ? value : NULL;
        return 0;
    case OPT_NATS:
        o->nats[i - O_NATS] = value[0] ? value : NULL;
        return 0;
    case OPT_REPLICAS: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end || v < 1 || v > 5)
            return bad_value(source, value, "use 1, 3 or 5 (JetStream allows 1 to 5 replicas)");
        o->nats_replicas = (int)v;
        return 0;
    }
    case OPT_ROLE:
        if (strcmp(value, "all") == 0)
            o->role_ingest = o->role_query = true;
        else if (strcmp(value, "ingest") == 0)
            o->role_ingest = true, o->role_query = false;
        else if (strcmp(value, "query") == 0)
            o->role_ingest = false, o->role_query = true;
        else
            return bad_value(source, value, "use all, ingest or query");
        return 0;
    case OPT_WAL_SYNC:
        if (strcmp(value, "always") == 0)
            o->wal_sync = LOG_SYNC_ALWAYS;
        else if (strcmp(value, "interval") == 0)
            o->wal_sync = LOG_SYNC_INTERVAL;
        else if (strcmp(value, "off") == 0)
            o->wal_sync = LOG_SYNC_OFF;
        else
            return bad_value(source, value, "use always, interval or off");
        return 0;
    case OPT_ORIGINS:
    case OPT_HOSTS:
    case OPT_URLS:
    case OPT_HEADERS: {
        /* flags were collected by parse_args; this is the environment's list */
        str_list *l = list_of(o, i);
        if (!value[0] || l->n)
            return 0;
        free(l->env);
        l->env = strdup(value);
        if (!l->env)
            return bad_value(source, value, "out of memory");
        char *save = NULL;
        for (char *tok = strtok_r(l->env, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ')
                tok++;
            size_t len = strlen(tok);
            while (len && tok[len - 1] == ' ')
                tok[--len] = '\0';
            if (!*tok)
                continue;
            if (l->n == MAX_LIST)
                return bad_value(source, value, "at most 32 entries");
            l->v[l->n++] = tok;
        }
        return 0;
    }
    case OPT_LOG_LEVEL:
        if (strcasecmp(value, "debug") == 0)
            o->log_level = BASE_LOG_DEBUG;
        else if (strcasecmp(value, "info") == 0)
            o->log_level = BASE_LOG_INFO;
        else if (strcasecmp(value, "warn") == 0 || strcasecmp(value, "warning") == 0)
            o->log_level = BASE_LOG_WARN;
        else if (strcasecmp(value, "error") == 0)
            o->log_level = BASE_LOG_ERROR;
        else
            return bad_value(source, value, "use debug, info, warn or error");
        return 0;
    }
    return -1;
}

/* Returns 0 to serve, 1 when done (help/version printed), -1 on a usage error. */
static int parse_args(int argc, char **argv, int first, serve_opts *o)
{
    const char *flag_value[O_COUNT] = {0};
    for (int a = first; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            if (o->stdio)
                usage_mcp(stdout);
            else
                usage(stdout);
            return 1;
        }
        if (o->stdio && strcmp(arg, "--tls-ca") == 0) {
            /* the bridge's own option: the CA of the daemon it connects to */
            if (a + 1 >= argc) {
                fprintf(stderr, "otelprofd: --tls-ca needs a PEM file\n");
                return -1;
            }
            o->tls_ca = argv[++a];
            continue;
        }
        if (o->stdio && strncmp(arg, "--connect", 9) == 0 && (arg[9] == '=' || !arg[9])) {
            if (arg[9] == '=') {
                o->connect = arg + 10;
            } else if (a + 1 < argc) {
                o->connect = argv[++a];
            } else {
                fprintf(stderr, "otelprofd: --connect needs a URL, e.g. %s\n", CLI_DEFAULT_MCP_URL);
                return -1;
            }
            continue;
        }
        if (strcmp(arg, "--demo") == 0) {
            o->demo = true;
            continue;
        }
        if (strcmp(arg, "--version") == 0) {
            printf("otelprofd %s\n", OTELPROFD_VERSION);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "otelprofd: unexpected argument \"%s\" (try otelprofd --help)\n", arg);
            return -1;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        int found = -1;
        for (int i = 0; i < O_COUNT; i++) {
            if (strlen(options[i].flag) == name_len &&
                strncmp(options[i].flag, name, name_len) == 0)
                found = i;
        }
        if (found < 0) {
            fprintf(stderr, "otelprofd: unknown option \"%.*s\" (try otelprofd --help)\n",
                    (int)(name_len + 2), arg);
            return -1;
        }
        const char *v = NULL;
        if (eq) {
            v = eq + 1;
        } else if (a + 1 < argc) {
            v = argv[++a];
        } else {
            fprintf(stderr, "otelprofd: --%s needs a value (default %s)\n", options[found].flag,
                    options[found].def[0] ? options[found].def : "none");
            return -1;
        }
        if (found == O_MCP_ALLOW_ORIGIN || found == O_MCP_ALLOW_HOST || found == O_FORWARD ||
            found == O_FORWARD_HEADER) {
            str_list *l = list_of(o, found);
            if (l->n == MAX_LIST) {
                fprintf(stderr, "otelprofd: at most %d --%s\n", MAX_LIST, options[found].flag);
                return -1;
            }
            l->v[l->n++] = v;
            continue;
        }
        flag_value[found] = v;
    }
    for (int i = 0; i < O_COUNT; i++) {
        char source[64];
        const char *value = flag_value[i];
        if (value) {
            snprintf(source, sizeof source, "--%s", options[i].flag);
        } else if ((value = getenv(options[i].env)) != NULL) {
            snprintf(source, sizeof source, "%s", options[i].env);
        } else {
            value = o->stdio && i == O_MCP_HTTP ? "off" : options[i].def;
            snprintf(source, sizeof source, "--%s", options[i].flag);
        }
        if (apply_option(o, i, value, source) != 0)
            return -1;
    }
    for (size_t i = 0; i < o->hosts.n; i++) {
        char why[BASE_ERR_LEN];
        if (mcp_http_check_host_name(o->hosts.v[i], why, sizeof why) != 0) {
            fprintf(stderr, "otelprofd: --mcp-allow-host: %s\n", why);
            return -1;
        }
        if (strcmp(o->hosts.v[i], "*") == 0 && !o->mcp_token && o->addr[2]) {
            fprintf(stderr,
                    "otelprofd: --mcp-allow-host '*' turns off the Host check that stops DNS "
                    "rebinding; give --mcp-token as well (a web page cannot send it), or list "
                    "the names clients use\n");
            return -1;
        }
    }
    for (size_t i = 0; i < o->forward.n; i++) {
        char why[400];
        if (cli_forward_check_url(o->forward.v[i], why, sizeof why) != 0) {
            fprintf(stderr, "otelprofd: %s\n", why);
            return -1;
        }
    }
    if (o->forward.n > CLI_FORWARD_MAX) {
        fprintf(stderr, "otelprofd: at most %d --forward destinations\n", CLI_FORWARD_MAX);
        return -1;
    }
    for (size_t i = 0; i < o->forward_headers.n; i++) {
        const char *h = o->forward_headers.v[i], *eq = strchr(h, '=');
        if (!eq || eq == h) {
            fprintf(stderr, "otelprofd: --forward-header \"%s\": use NAME=VALUE\n", h);
            return -1;
        }
    }
    if (o->resolution_ns > o->retention_ns) {
        fprintf(stderr,
                "otelprofd: --resolution (%lld s) must not be longer than --retention "
                "(%lld s)\n",
                (long long)(o->resolution_ns / 1000000000),
                (long long)(o->retention_ns / 1000000000));
        return -1;
    }
    if (o->max_inflight_bytes && o->max_inflight_bytes < o->max_message_size) {
        fprintf(stderr,
                "otelprofd: --max-inflight-bytes (%llu) must be at least --max-message-size "
                "(%llu): a largest request could never be taken\n",
                (unsigned long long)o->max_inflight_bytes, (unsigned long long)o->max_message_size);
        return -1;
    }
    return 0;
}

/* ---- TLS files -------------------------------------------------------------------- */

/* Reads a whole PEM file (size-capped) into a NUL-terminated string. */
static char *read_pem(const char *what, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "otelprofd: %s %s: cannot open: %s\n", what, path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(MAX_PEM_FILE + 1);
    size_t n = buf ? fread(buf, 1, MAX_PEM_FILE + 1, f) : 0;
    int read_errno = errno;
    bool failed = ferror(f) != 0;
    fclose(f);
    if (!buf || failed) {
        fprintf(stderr, "otelprofd: %s %s: cannot read it: %s\n", what, path,
                buf ? strerror(read_errno) : "out of memory");
        free(buf);
        return NULL;
    }
    if (n > MAX_PEM_FILE) {
        fprintf(stderr, "otelprofd: %s %s: larger than %zu bytes, not a PEM file\n", what, path,
                MAX_PEM_FILE);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    if (strlen(buf) != n || !strstr(buf, "-----BEGIN ")) {
        fprintf(stderr, "otelprofd: %s %s: not a PEM file (no \"-----BEGIN\" line)\n", what, path);
        free(buf);
        return NULL;
    }
    return buf;
}

/* Certificates in `pem`, or -1 with a message naming `path` when none parses. */
static int check_certs(const char *what, const char *path, const char *pem)
{
    gnutls_x509_crt_t *crts = NULL;
    unsigned n = 0;
    gnutls_datum_t d = {(unsigned char *)(uintptr_t)pem, (unsigned)strlen(pem)};
    int rc = gnutls_x509_crt_list_import2(&crts, &n, &d, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0 || n == 0) {
        fprintf(stderr, "otelprofd: %s %s: no PEM certificate in it (%s)\n", what, path,
                rc < 0 ? gnutls_strerror(rc) : "empty");
        return -1;
    }
    for (unsigned i = 0; i < n; i++)
        gnutls_x509_crt_deinit(crts[i]);
    gnutls_free(crts);
    return (int)n;
}

/* Reads and checks --tls-cert, --tls-key and --tls-client-ca before anything listens, so
 * a mistake ends the process with a message naming the file instead of failed handshakes
 * later. Returns 0, or -1 after printing why. */
static int load_tls(serve_opts *o)
{
    static const char *const what[3] = {"--tls-cert", "--tls-key", "--tls-client-ca"};
    const char *cert = o->tls_file[0], *key = o->tls_file[1], *ca = o->tls_file[2];
    if (!cert && !key && !ca)
        return 0;
    if (!cert || !key) {
        fprintf(stderr,
                "otelprofd: %s given without %s: TLS needs both the certificate and its "
                "private key (PEM files)\n",
                cert  ? "--tls-cert"
                : key ? "--tls-key"
                      : "--tls-client-ca",
                cert  ? "--tls-key"
                : key ? "--tls-cert"
                      : "--tls-cert and --tls-key");
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        if (o->tls_file[i] && !(o->tls_pem[i] = read_pem(what[i], o->tls_file[i])))
            return -1;
    }
    if (check_certs(what[0], cert, o->tls_pem[0]) < 0)
        return -1;
    if (ca && check_certs(what[2], ca, o->tls_pem[2]) < 0)
        return -1;
    gnutls_datum_t kd = {(unsigned char *)o->tls_pem[1], (unsigned)strlen(o->tls_pem[1])};
    gnutls_x509_privkey_t pk;
    if (gnutls_x509_privkey_init(&pk) < 0) {
        fprintf(stderr, "otelprofd: out of memory\n");
        return -1;
    }
    int rc = gnutls_x509_privkey_import2(pk, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
    gnutls_x509_privkey_deinit(pk);
    if (rc < 0) {
        fprintf(stderr, "otelprofd: --tls-key %s: not an unencrypted PEM private key (%s)\n", key,
                gnutls_strerror(rc));
        return -1;
    }
    gnutls_certificate_credentials_t cred;
    if (gnutls_certificate_allocate_credentials(&cred) < 0) {
        fprintf(stderr, "otelprofd: out of memory\n");
        return -1;
    }
    gnutls_datum_t cd = {(unsigned char *)o->tls_pem[0], (unsigned)strlen(o->tls_pem[0])};
    rc = gnutls_certificate_set_x509_key_mem2(cred, &cd, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
    gnutls_certificate_free_credentials(cred);
    if (rc < 0) {
        if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
            fprintf(stderr, "otelprofd: --tls-key %s does not match the certificate in %s\n", key,
                    cert);
        else
            fprintf(stderr, "otelprofd: --tls-cert %s with --tls-key %s: %s\n", cert, key,
                    gnutls_strerror(rc));
        return -1;
    }
    return 0;
}

static void free_tls(serve_opts *o)
{
    for (int i = 0; i < 3; i++) {
        if (o->tls_pem[i]) {
            /* the key should not linger in freed memory */
            explicit_bzero(o->tls_pem[i], strlen(o->tls_pem[i]));
            free(o->tls_pem[i]);
            o->tls_pem[i] = NULL;
        }
    }
}

/* ---- serve ------------------------------------------------------------------------ */

typedef struct expiry {
    win_store *store;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
} expiry;

/* Expires old buckets once a second, so an idle store still lets go of its past. */
static void *expiry_main(void *arg)
{
    expiry *e = arg;
    pthread_mutex_lock(&e->mu);
    while (!e->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&e->cv, &e->mu, &until);
        if (e->stop)
            break;
        pthread_mutex_unlock(&e->mu);
        win_store_expire(e->store, base_now_unix_ns());
        pthread_mutex_lock(&e->mu);
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

/* "127.0.0.1:0" bound to port 41234 is logged as "127.0.0.1:41234". */
static void log_listener(const char *what, const char *addr, int port, const char *tls)
{
    char host[256];
    int configured;
    if (base_split_host_port(addr, host, sizeof host, &configured) != 0) {
        base_log(BASE_LOG_INFO, "%s listening on %s%s", what, addr, tls);
        return;
    }
    const char *shown = host[0] ? host : "0.0.0.0";
    if (strchr(shown, ':'))
        base_log(BASE_LOG_INFO, "%s listening on [%s]:%d%s", what, shown, port, tls);
    else
        base_log(BASE_LOG_INFO, "%s listening on %s:%d%s", what, shown, port, tls);
}

/* "http://127.0.0.1:4319" for the listener on `addr` bound to `port`: a wildcard host is
 * reached through loopback. */
static void base_url(char *out, size_t len, const char *scheme, const char *addr, int port)
{
    char host[256];
    int configured;
    if (base_split_host_port(addr, host, sizeof host, &configured) != 0 || !host[0] ||
        strcmp(host, "0.0.0.0") == 0)
        snprintf(out, len, "%s://127.0.0.1:%d", scheme, port);
    else if (strcmp(host, "::") == 0)
        snprintf(out, len, "%s://[::1]:%d", scheme, port);
    else if (strchr(host, ':'))
        snprintf(out, len, "%s://[%s]:%d", scheme, host, port);
    else
        snprintf(out, len, "%s://%s:%d", scheme, host, port);
}

static volatile int stdio_stop;

/* After the first SIGINT/SIGTERM the listeners get up to 5 s to let requests finish; a
 * second signal means "now": exit at once without the orderly stop. */
static void *second_signal_main(void *arg)
{
    const sigset_t *set = arg;
    int sig = 0;
    while (sigwait(set, &sig) != 0)
        ;
    base_log(BASE_LOG_WARN, "second %s: exiting without waiting for requests in flight",
             sig == SIGINT ? "SIGINT" : "SIGTERM");
    _exit(1);
}

static void on_stop_signal(int sig)
{
    (void)sig;
    stdio_stop = 1;
}

/* 1,024 OTLP/HTTP connections plus gRPC's and MCP's need more descriptors than the usual
 * soft limit of 1,024: take what the hard limit allows, up to 65,536. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
    if (rl.rlim_cur >= want)
        return;
    rlim_t had = rl.rlim_cur;
    rl.rlim_cur = want;
    rlim_t now = setrlimit(RLIMIT_NOFILE, &rl) == 0 ? want : had;
    if (now < 2048)
        base_log(BASE_LOG_WARN,
                 "open files limited to %llu: past that, new connections wait or fail "
                 "(raise ulimit -n)",
                 (unsigned long long)now);
}

static int serve(serve_opts *o)
{
    base_log_threshold = o->log_level;
    raise_fd_limit();

    /* Signals are blocked before any thread (gRPC, libmicrohttpd, expiry) exists so every
     * thread inherits the mask: serve takes them with sigwait; mcp unblocks them in this
     * thread only, where they interrupt the read of stdin. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* a log segment at the file-size limit must fail the write (EFBIG: 503), not kill us */
    signal(SIGXFSZ, SIG_IGN);

    win_config wc;
    win_config_defaults(&wc);
    wc.retention_ns = o->retention_ns;
    wc.resolution_ns = o->resolution_ns;
    wc.memory_limit = o->memory_limit;
    win_store *store = win_store_new(&wc);
    if (!store) {
        fprintf(stderr,
                "otelprofd: cannot create the store (retention %lld s, resolution "
                "%lld s, memory limit %llu bytes)\n",
                (long long)(o->retention_ns / 1000000000),
                (long long)(o->resolution_ns / 1000000000), (unsigned long long)o->memory_limit);
        return 1;
    }

    cli_demo_stats demo = {0, 0};
    if (o->demo) {
        const char *dir = getenv("OTELPROFD_DEMO_DIR");
        if (!dir || !dir[0])
            dir = OTELPROFD_DEMO_DIR_DEFAULT;
        if (cli_demo_load(store, dir, &demo) <= 0) {
            win_store_free(store);
            return 1;
        }
    }

    int rc = 1;
    char err[BASE_ERR_LEN] = "";
    /* --nats: the log is the cluster's stream; the windows are fed from it (roles all and
     * query), never by the receiver directly, so every node sees every ingest node's data
     * once, and a query-only node opens no OTLP listener. */
    bool nats = o->nats[0] != NULL;
    const char *role = !nats                             ? NULL
                       : o->role_ingest && o->role_query ? "all"
                       : o->role_ingest                  ? "ingest"
                                                         : "query";
    if (!nats && !(o->role_ingest && o->role_query)) {
        fprintf(stderr, "otelprofd: --role ingest and --role query need --nats (a shared log)\n");
        win_store_free(store);
        return 2;
    }
    if (nats && o->data_dir) {
        fprintf(stderr, "otelprofd: --nats and --data-dir exclude each other: with --nats the "
                        "JetStream stream is the durable log\n");
        win_store_free(store);
        return 2;
    }
    if (nats && !o->role_ingest)
        o->addr[0] = o->addr[1] = NULL;
    log_config lc = {.backend = nats          ? LOG_BACKEND_NATS
                                : o->data_dir ? LOG_BACKEND_WAL
                                              : LOG_BACKEND_MEMORY,
                     .nats_url = o->nats[O_NATS - O_NATS],
                     .nats_stream = o->nats[O_NATS_STREAM - O_NATS],
                     .nats_filter = o->nats[O_NATS_SUBJECTS - O_NATS],
                     .nats_creds_file = o->nats[O_NATS_CREDS - O_NATS],
                     .nats_tls_ca = o->nats[O_NATS_TLS_CA - O_NATS],
                     .nats_tls_cert = o->nats[O_NATS_TLS_CERT - O_NATS],
                     .nats_tls_key = o->nats[O_NATS_TLS_KEY - O_NATS],
                     .nats_replicas = o->nats_replicas,
                     .retention_ns = o->retention_ns,
                     .memory_backlog_bytes = o->forward_queue,
                     .data_dir = o->data_dir,
                     .sync = o->wal_sync,
                     .sync_interval_ns = o->wal_sync_interval_ns,
                     .segment_bytes = o->wal_segment_size};
    log_store *log = log_open(&lc, err, sizeof err);
    if (!log) {
        fprintf(stderr, "otelprofd: %s\n", err);
        win_store_free(store);
        return 1;
    }
    cli_follower *follower = NULL;
    if (nats) {
        base_log(BASE_LOG_INFO, "log: JetStream stream %s at %s, role %s",
                 o->nats[O_NATS_STREAM - O_NATS] ? o->nats[O_NATS_STREAM - O_NATS] : "OTELPROFD",
                 o->nats[0], role);
        if (o->role_query && !(follower = cli_follow_start(log, store, o->max_message_size))) {
            fprintf(stderr, "otelprofd: cannot start the thread that follows the stream\n");
            log_close(log);
            win_store_free(store);
            return 1;
        }
    }
    if (o->data_dir) {
        base_log(BASE_LOG_INFO, "log: write-ahead log in %s (--wal-sync %s)", o->data_dir,
                 o->wal_sync == LOG_SYNC_ALWAYS     ? "always"
                 : o->wal_sync == LOG_SYNC_INTERVAL ? "interval"
                                                    : "off");
        if (!cli_replay_log(log, store, o->max_message_size)) {
            log_close(log);
            win_store_free(store);
            return 1;
        }
    }
    cli_forwarder *fwd[CLI_FORWARD_MAX] = {0};
    size_t n_fwd = 0;
    if (o->forward.n) {
        cli_forward_init();
        o->forward_headers.v[o->forward_headers.n] = NULL;
        for (size_t i = 0; i < o->forward.n; i++) {
            cli_forward_config fc = {.url = o->forward.v[i],
                                     .headers = o->forward_headers.v,
                                     .tls_ca_file = o->forward_tls_ca};
            if (!(fwd[n_fwd] = cli_forward_start(log, &fc, err, sizeof err))) {
                fprintf(stderr, "otelprofd: %s\n", err);
                for (size_t k = 0; k < n_fwd; k++)
                    cli_forward_stop(fwd[k]);
                cli_forward_cleanup();
                cli_follow_stop(follower);
                log_close(log);
                win_store_free(store);
                return 1;
            }
            base_log(BASE_LOG_INFO, "forwarding everything accepted to %s%s", o->forward.v[i],
                     nats ? " (a durable consumer of the stream, its cursor kept in the cluster: "
                            "at least once; nodes forwarding to the same URL share it)"
                     : o->data_dir ? " (cursor kept in the data dir: at least once)"
                                   : " (backlog in memory, up to --forward-queue)");
            n_fwd++;
        }
    }
    otlp_receiver *rcv = NULL;
    tools *tl = NULL;
    mcp_server *srv = NULL;
    mcp_http *http = NULL;
    otlp_receiver_config rc_cfg = {.grpc_addr = o->addr[0],
                                   .http_addr = o->addr[1],
                                   .max_message_size = o->max_message_size,
                                   .max_inflight_bytes = o->max_inflight_bytes,
                                   .grpc_threads = o->grpc_threads,
                                   .tls_cert_pem = o->tls_pem[0],
                                   .tls_key_pem = o->tls_pem[1],
                                   .tls_client_ca_pem = o->tls_pem[2],
                                   .log = log,
                                   .log_only = nats};
    rcv = otlp_receiver_start(&rc_cfg, store, err, sizeof err);
    if (!rcv) {
        fprintf(stderr, "otelprofd: %s\n", err);
        if (o->stdio)
            fprintf(stderr,
                    "  is an otelprofd daemon already receiving on that port? Then bridge to "
                    "it instead: otelprofd mcp --connect %s\n  (or give this process other "
                    "ports: --otlp-grpc 127.0.0.1:0 --otlp-http off)\n",
                    CLI_DEFAULT_MCP_URL);
        goto out;
    }
    tools_config tc = {
        .store = store,
        .receiver = rcv,
        .log = log,
        .cluster_role = role,
        .cluster_stream =
            nats ? (o->nats[O_NATS_STREAM - O_NATS] ? o->nats[O_NATS_STREAM - O_NATS] : "OTELPROFD")
                 : NULL,
        .preloaded = {demo.profiles, demo.samples},
        .version = OTELPROFD_VERSION};
    tl = tools_new(&tc);
    mcp_server_info info = {
        .name = "otelprofd",
        .title = "otelprofd profiles",
        .version = OTELPROFD_VERSION,
        .instructions =
            "otelprofd holds the recent OpenTelemetry profiles (CPU, memory) of the services "
            "that send to it. Start with get_status, pick a profile_type and a service "
            "(list_label_values name=service.name), then query_profile_table, "
            "query_profile_sandwich and query_profile_flamegraph; query_profile_diff and "
            "query_profile_timeseries for changes over time. The resource "
            "otelprofd://guide/profiling describes the workflow.",
    };
    srv = tl ? mcp_server_new(&info) : NULL;
    if (!tl || !srv || tools_register(tl, srv) != 0) {
        fprintf(stderr, "otelprofd: cannot set up the MCP tools (out of memory)\n");
        goto out;
    }
    if (o->addr[2]) {
        o->origins.v[o->origins.n] = NULL;
        o->hosts.v[o->hosts.n] = NULL;
        mcp_http_config hc = {.addr = o->addr[2],
                              .token = o->mcp_token,
                              .allowed_origins = o->origins.n ? o->origins.v : NULL,
                              .allowed_hosts = o->hosts.n ? o->hosts.v : NULL,
                              .route = tools_http_route,
                              .route_user = tl,
                              .tls_cert_pem = o->tls_pem[0],
                              .tls_key_pem = o->tls_pem[1],
                              .tls_client_ca_pem = o->tls_pem[2]};
        http = mcp_http_start(srv, &hc, err, sizeof err);
        if (!http) {
            fprintf(stderr, "otelprofd: %s\n", err);
            goto out;
        }
        char url[300];
        base_url(url, sizeof url, o->tls_pem[0] ? "https" : "http", o->addr[2],
                 mcp_http_port(http));
        tools_set_http_base_url(tl, url);
    }
    const char *tls = o->tls_pem[2]   ? " (TLS, client certificates required)"
                      : o->tls_pem[0] ? " (TLS)"
                                      : "";
    if (o->addr[0])
        log_listener("OTLP/gRPC", o->addr[0], otlp_receiver_grpc_port(rcv), tls);
    if (o->addr[1])
        log_listener("OTLP/HTTP", o->addr[1], otlp_receiver_http_port(rcv), tls);
    if (o->addr[2])
        log_listener("MCP (/mcp) and HTTP API", o->addr[2], mcp_http_port(http), tls);

    expiry ex = {.store = store, .stop = false};
    pthread_mutex_init(&ex.mu, NULL);
    pthread_cond_init(&ex.cv, NULL);
    pthread_t ex_thread;
    bool ex_started = pthread_create(&ex_thread, NULL, expiry_main, &ex) == 0;
    if (!ex_started)
        base_log(BASE_LOG_WARN, "cannot start the expiry thread: buckets expire on ingest only");

    if (o->stdio) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop_signal; /* no SA_RESTART: the signal interrupts the read */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        pthread_sigmask(SIG_UNBLOCK, &stop_signals, NULL);
        base_log(BASE_LOG_INFO, "MCP on stdio");
        mcp_stdio_serve(srv, stdin, stdout, &stdio_stop);
        pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
        base_log(BASE_LOG_INFO, "%s, shutting down",
                 stdio_stop ? "signal received" : "stdin closed");
    } else {
        int sig = 0;
        while (sigwait(&stop_signals, &sig) != 0)
            ;
        base_log(BASE_LOG_INFO, "%s received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
    pthread_t second;
    if (pthread_create(&second, NULL, second_signal_main, &stop_signals) == 0)
        pthread_detach(second);

    mcp_http_stop(http);
    http = NULL;
    otlp_receiver_stop(rcv);
    rcv = NULL;
    if (ex_started) {
        pthread_mutex_lock(&ex.mu);
        ex.stop = true;
        pthread_cond_signal(&ex.cv);
        pthread_mutex_unlock(&ex.mu);
        pthread_join(ex_thread, NULL);
    }
    pthread_mutex_destroy(&ex.mu);
    pthread_cond_destroy(&ex.cv);
    rc = 0;
out:
    if (http)
        mcp_http_stop(http);
    if (rcv)
        otlp_receiver_stop(rcv);
    cli_follow_stop(follower);
    mcp_server_free(srv);
    tools_free(tl);
    for (size_t k = 0; k < n_fwd; k++)
        cli_forward_stop(fwd[k]);
    if (o->forward.n)
        cli_forward_cleanup();
    log_close(log);
    win_store_free(store);
    render_shutdown(); /* every request has ended: the picture font caches can go */
    return rc;
}

int main(int argc, char **argv)
{
    int first = 1;
    serve_opts o;
    memset(&o, 0, sizeof o);
    if (argc > 1 && argv[1][0] != '-') {
        const char *cmd = argv[1];
        first = 2;
        if (strcmp(cmd, "serve") == 0) {
        } else if (strcmp(cmd, "mcp") == 0) {
            o.stdio = true;
        } else if (strcmp(cmd, "query") == 0) {
            return cli_query(argc, argv, 2);
        } else if (strcmp(cmd, "help") == 0) {
            if (argc > 2 && strcmp(argv[2], "mcp") == 0)
                usage_mcp(stdout);
            else if (argc > 2 && strcmp(argv[2], "query") == 0)
                cli_query_usage(stdout);
            else if (argc > 2 && strcmp(argv[2], "send") == 0)
                cli_send_usage(stdout);
            else
                usage(stdout);
            return 0;
        } else if (strcmp(cmd, "send") == 0) {
            return cli_send(argc, argv, 2);
        } else {
            fprintf(stderr,
                    "otelprofd: unknown command '%s': use serve, mcp, query or send (try otelprofd "
                    "--help)\n",
                    cmd);
            return EXIT_USAGE;
        }
    }
    int r = parse_args(argc, argv, first, &o);
    if (r != 0) {
        free(o.origins.env);
        free(o.hosts.env);
        return r < 0 ? EXIT_USAGE : 0;
    }
    if (o.connect) {
        base_log_threshold = o.log_level;
        signal(SIGPIPE, SIG_IGN);
        if (!o.tls_file[0] != !o.tls_file[1]) {
            fprintf(stderr, "otelprofd: mcp --connect: a client certificate needs both "
                            "--tls-cert and --tls-key\n");
            r = EXIT_USAGE;
        } else {
            r = cli_bridge(o.connect, o.mcp_token, o.tls_ca, o.tls_file[0], o.tls_file[1]);
        }
    } else if (load_tls(&o) != 0) {
        r = EXIT_USAGE;
    } else {
        r = serve(&o);
    }
    free_tls(&o);
    free(o.origins.env);
    free(o.hosts.env);
    return r;
}
