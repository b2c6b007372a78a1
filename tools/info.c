/* tools/info.c — get_status and the listings (profile types, labels, label values). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "tools/tools_internal.h"

static cJSON *add_time(cJSON *obj, const char *key, int64_t ns)
{
    char t[48];
    if (ns == 0 || ns == INT64_MIN || ns == INT64_MAX)
        return cJSON_AddNullToObject(obj, key);
    tools__time(t, sizeof t, ns);
    return cJSON_AddStringToObject(obj, key, t);
}

/* ---- get_status --------------------------------------------------------------------- */

int tools__get_status(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out)
{
    (void)call;
    (void)args;
    tools *t = user;
    win_stats ws;
    memset(&ws, 0, sizeof ws);
    win_store_stats(t->store, &ws);
    otlp_stats rs;
    tools__ingest_stats(t, &rs);
    base_errbuf eb = {0};
    win_listing *types = win_list_profile_types(t->store, NULL, INT64_MIN, INT64_MAX, &eb);
    if (!types) {
        tools__error(out, "cannot list profile types: %s", eb.text[0] ? eb.text : "out of memory");
        return 0;
    }
    const win_type_info *ti = types->rows;
    int64_t uptime = base_now_mono_ns() - t->started_mono_ns;
    uint64_t samples_received =
        rs.samples_stored + rs.samples_rejected + rs.samples_too_old + rs.samples_too_new;
    double mem_pct = ws.memory_limit ? 100.0 * (double)ws.memory_used / (double)ws.memory_limit : 0;

    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "version", t->version);
    cJSON_AddNumberToObject(s, "uptime_seconds", (double)(uptime / 1000000000));
    cJSON_AddNumberToObject(s, "retention_seconds",
                            (double)(win_store_retention(t->store) / 1000000000));
    cJSON_AddNumberToObject(s, "resolution_seconds", (double)win_store_resolution(t->store) / 1e9);
    add_time(s, "oldest", ws.oldest_ns);
    add_time(s, "newest", ws.newest_ns);
    cJSON_AddNumberToObject(s, "series", (double)ws.series);
    cJSON *arr = cJSON_AddArrayToObject(s, "profile_types");
    for (size_t i = 0; i < types->n_rows; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "profile_type", ti[i].profile_type);
        cJSON_AddNumberToObject(o, "total", (double)ti[i].total);
        cJSON_AddNumberToObject(o, "series", ti[i].n_series);
        mcp_json_push(arr, o);
    }
    cJSON_AddNumberToObject(s, "memory_used_bytes", (double)ws.memory_used);
    cJSON_AddNumberToObject(s, "memory_limit_bytes", (double)ws.memory_limit);
    cJSON_AddNumberToObject(s, "memory_used_percent", mem_pct);
    cJSON_AddNumberToObject(s, "received_profiles",
                            (double)(rs.profiles_accepted + rs.profiles_rejected));
    cJSON_AddNumberToObject(s, "rejected_profiles", (double)rs.profiles_rejected);
    cJSON_AddNumberToObject(s, "preloaded_profiles", (double)t->preloaded.profiles);
    cJSON_AddNumberToObject(s, "preloaded_samples", (double)t->preloaded.samples);
    cJSON_AddNumberToObject(s, "received_samples", (double)samples_received);
    cJSON_AddNumberToObject(s, "stored_samples", (double)rs.samples_stored);
    cJSON_AddNumberToObject(s, "rejected_samples", (double)rs.samples_rejected);
    cJSON_AddNumberToObject(s, "samples_too_old", (double)rs.samples_too_old);
    cJSON_AddNumberToObject(s, "samples_too_new", (double)rs.samples_too_new);
    cJSON_AddNumberToObject(s, "samples_unlinked", (double)ws.samples_unlinked);
    cJSON_AddNumberToObject(s, "evicted_buckets", (double)ws.evicted_buckets);
    cJSON_AddNumberToObject(s, "expired_buckets", (double)ws.expired_buckets);
    log_stats ls;
    log_consumer_stats fw[LOG_CONSUMERS_MAX];
    size_t n_fw = 0;
    char cluster_line[512] = "";
    if (t->log) {
        log_stats_get(t->log, &ls);
        cJSON *l = cJSON_AddObjectToObject(s, "log");
        cJSON_AddStringToObject(l, "backend", log_backend_name(ls.backend));
        cJSON_AddNumberToObject(l, "appended_requests", (double)ls.appends);
        cJSON_AddNumberToObject(l, "appended_bytes", (double)ls.append_bytes);
        cJSON_AddNumberToObject(l, "append_failures", (double)ls.append_failures);
        cJSON_AddNumberToObject(l, "bytes_held", (double)ls.bytes_held);
        cJSON_AddNumberToObject(l, "segments", (double)ls.segments);
        cJSON_AddNumberToObject(l, "syncs", (double)ls.syncs);
        cJSON_AddNumberToObject(l, "corrupt_records", (double)ls.corrupt_records);
        cJSON *r = cJSON_AddObjectToObject(l, "replay");
        cJSON_AddBoolToObject(r, "done", ls.replay.done);
        cJSON_AddNumberToObject(r, "requests", (double)ls.replay.records);
        cJSON_AddNumberToObject(r, "bytes", (double)ls.replay.bytes);
        cJSON_AddNumberToObject(r, "samples", (double)ls.replay.samples);
        cJSON_AddNumberToObject(r, "lost", (double)ls.replay.lost);
        cJSON_AddNumberToObject(r, "seconds", (double)ls.replay.duration_ns / 1e9);
        size_t all = log_consumer_stats_all(t->log, fw, LOG_CONSUMERS_MAX);
        if (t->cluster_role[0]) {
            /* the windows consumer: how far this node is behind the stream head */
            log_consumer_stats win = {0};
            for (size_t i = 0; i < all && i < LOG_CONSUMERS_MAX; i++)
                if (strcmp(fw[i].name, "windows") == 0)
                    win = fw[i];
            cJSON *c = cJSON_AddObjectToObject(s, "cluster");
            cJSON_AddStringToObject(c, "role", t->cluster_role);
            cJSON_AddStringToObject(c, "stream", t->cluster_stream);
            cJSON_AddNumberToObject(c, "stream_last_seq", (double)ls.last_seq);
            cJSON_AddNumberToObject(c, "stream_records", (double)ls.records_held);
            cJSON_AddNumberToObject(c, "applied_records", (double)win.delivered);
            cJSON_AddNumberToObject(c, "applied_seq", (double)win.committed_seq);
            cJSON_AddNumberToObject(c, "pending_records", (double)win.backlog_records);
            cJSON_AddNumberToObject(c, "lag_seconds", (double)win.lag_ns / 1e9);
            cJSON_AddBoolToObject(c, "replay_done", ls.replay.done);
            cJSON_AddNumberToObject(c, "replica_repaired_records", (double)win.replica_repaired);
            cJSON_AddBoolToObject(c, "reading_from_leader", win.reading_from_leader);
            char repaired[160] = "";
            if (win.replica_repaired || win.reading_from_leader)
                snprintf(repaired, sizeof repaired,
                         "; its stream replica diverged: %llu records applied from the stream "
                         "leader, which it reads from now on",
                         (unsigned long long)win.replica_repaired);
            snprintf(cluster_line, sizeof cluster_line,
                     "Cluster: role %s, stream %s (last sequence %llu, %llu records); windows "
                     "applied %llu records, %llu pending behind the head (lag %.1f s); replay "
                     "%s%s\n",
                     t->cluster_role, t->cluster_stream, (unsigned long long)ls.last_seq,
                     (unsigned long long)ls.records_held, (unsigned long long)win.delivered,
                     (unsigned long long)win.backlog_records, (double)win.lag_ns / 1e9,
                     !strcmp(t->cluster_role, "ingest") ? "not run (no windows)"
                     : ls.replay.done                   ? "done"
                                                        : "in progress",
                     repaired);
        }
        cJSON *fa = cJSON_AddArrayToObject(s, "forwarders");
        for (size_t i = 0; i < all && i < LOG_CONSUMERS_MAX; i++) {
            if (!fw[i].target[0])
                continue;
            fw[n_fw++] = fw[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "destination", fw[i].target);
            cJSON_AddNumberToObject(o, "sent", (double)fw[i].sent);
            cJSON_AddNumberToObject(o, "retried", (double)fw[i].retried);
            cJSON_AddNumberToObject(o, "failed", (double)fw[i].failed);
            cJSON_AddNumberToObject(o, "dropped", (double)fw[i].lost);
            cJSON_AddNumberToObject(o, "replica_repaired", (double)fw[i].replica_repaired);
            cJSON_AddNumberToObject(o, "backlog_requests", (double)fw[i].backlog_records);
            cJSON_AddNumberToObject(o, "backlog_bytes", (double)fw[i].backlog_bytes);
            cJSON_AddNumberToObject(o, "lag_seconds", (double)fw[i].lag_ns / 1e9);
            mcp_json_push(fa, o);
        }
    }

    tools__buf b = {0};
    char up[48], ret[48], res[48], used[32], lim[32], cov[128];
    tools__duration(up, sizeof up, uptime - uptime % 1000000000);
    tools__duration(ret, sizeof ret, win_store_retention(t->store));
    tools__duration(res, sizeof res, win_store_resolution(t->store));
    tools__human(used, sizeof used, (double)ws.memory_used, "bytes");
    tools__human(lim, sizeof lim, (double)ws.memory_limit, "bytes");
    if (ws.newest_ns > ws.oldest_ns)
        tools__range(cov, sizeof cov, ws.oldest_ns, ws.newest_ns);
    else
        snprintf(cov, sizeof cov, "(no data yet)");
    tools__printf(&b, "otelprofd %s, up %s; retention %s, resolution %s\n", t->version, up, ret,
                  res);
    tools__printf(&b,
                  "Coverage %s; %llu series; memory %s of %s (%.1f%%); buckets evicted by the "
                  "memory limit %llu, expired by age %llu\n",
                  cov, (unsigned long long)ws.series, used, lim, mem_pct,
                  (unsigned long long)ws.evicted_buckets, (unsigned long long)ws.expired_buckets);
    char pre[96] = "";
    if (t->preloaded.profiles)
        snprintf(pre, sizeof pre, " (%llu preloaded by --demo)",
                 (unsigned long long)t->preloaded.profiles);
    tools__printf(&b,
                  "Ingest: %llu profiles received%s, %llu rejected; %llu samples received, %llu "
                  "stored, %llu invalid, %llu too old, %llu too new\n",
                  (unsigned long long)(rs.profiles_accepted + rs.profiles_rejected), pre,
                  (unsigned long long)rs.profiles_rejected, (unsigned long long)samples_received,
                  (unsigned long long)rs.samples_stored, (unsigned long long)rs.samples_rejected,
                  (unsigned long long)rs.samples_too_old, (unsigned long long)rs.samples_too_new);
    if (ws.samples_unlinked)
        tools__printf(&b,
                      "%llu samples were stored without their trace link: their time bucket "
                      "already held 16,384 linked entries, so trace_id/span_id filters miss "
                      "them (totals are exact).\n",
                      (unsigned long long)ws.samples_unlinked);
    if (t->log && ls.backend != LOG_BACKEND_MEMORY) {
        tools__printf(&b,
                      "Log (%s): %llu requests appended, %llu refused (503), %llu bytes held in "
                      "%llu segments, %llu damaged records skipped",
                      log_backend_name(ls.backend), (unsigned long long)ls.appends,
                      (unsigned long long)ls.append_failures, (unsigned long long)ls.bytes_held,
                      (unsigned long long)ls.segments, (unsigned long long)ls.corrupt_records);
        if (ls.replay.done)
            tools__printf(&b, "; replayed at start: %llu requests, %llu samples in %.2f s",
                          (unsigned long long)ls.replay.records,
                          (unsigned long long)ls.replay.samples,
                          (double)ls.replay.duration_ns / 1e9);
        tools__printf(&b, "\n");
    }
    if (cluster_line[0])
        tools__printf(&b, "%s", cluster_line);
    for (size_t i = 0; i < n_fw; i++)
        tools__printf(&b,
                      "Forward to %s: %llu sent, %llu retried, %llu failed, %llu dropped; backlog "
                      "%llu requests (%llu bytes), lag %.1f s\n",
                      fw[i].target, (unsigned long long)fw[i].sent,
                      (unsigned long long)fw[i].retried, (unsigned long long)fw[i].failed,
                      (unsigned long long)fw[i].lost, (unsigned long long)fw[i].backlog_records,
                      (unsigned long long)fw[i].backlog_bytes, (double)fw[i].lag_ns / 1e9);
    if (types->n_rows == 0) {
        tools__printf(&b, "No profiles yet: point an OTLP exporter at the OTLP listeners "
                          "(gRPC :4317, HTTP :4318 /v1development/profiles).\n");
    } else {
        tools__printf(&b, "[%zu]{profile_type,total,series}:\n", types->n_rows);
        for (size_t i = 0; i < types->n_rows; i++) {
            char h[32];
            tools__human(h, sizeof h, (double)ti[i].total, tools__unit_of(ti[i].profile_type));
            tools__printf(&b, "  ");
            tools__csv(&b, ti[i].profile_type);
            tools__printf(&b, ",%s,%u\n", h, ti[i].n_series);
        }
        tools__printf(&b, "Next: list_label_values name=service.name to pick a service, then "
                          "query_profile_table with a profile_type.\n");
    }
    win_listing_free(types);
    return tools__answer(out, &b, s);
}

/* ---- list_profile_types ------------------------------------------------------------- */

int tools__list_profile_types(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out)
{
    (void)call;
    tools *t = user;
    tools__args a;
    if (tools__parse_common(t, args, TOOLS__PTYPE_OPTIONAL, &a, out) != 0)
        return 0;
    base_errbuf eb = {0};
    win_listing *l = win_list_profile_types(t->store, a.selector, a.start_ns, a.end_ns, &eb);
    if (!l) {
        tools__error(out, "cannot list profile types: %s", eb.text[0] ? eb.text : "out of memory");
        tools__args_free(&a);
        return 0;
    }
    const win_type_info *ti = l->rows;
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "selector", a.selector_text);
    cJSON *arr = cJSON_AddArrayToObject(s, "profile_types");
    tools__buf b = {0}, rows = {0};
    size_t shown = 0;
    for (size_t i = 0; i < l->n_rows; i++) {
        char h[32], range[128];
        const char *unit = tools__unit_of(ti[i].profile_type);
        tools__human(h, sizeof h, (double)ti[i].total, unit);
        tools__range(range, sizeof range, ti[i].start_ns, ti[i].end_ns);
        if (rows.len < TOOLS__TEXT_BUDGET - 1000) {
            tools__printf(&rows, "  ");
            tools__csv(&rows, ti[i].profile_type);
            tools__printf(&rows, ",%s,%lld,%u,%s\n", h, (long long)ti[i].total, ti[i].n_series,
                          range);
            shown++;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "profile_type", ti[i].profile_type);
        cJSON_AddStringToObject(o, "unit", unit);
        cJSON_AddNumberToObject(o, "total", (double)ti[i].total);
        cJSON_AddStringToObject(o, "total_human", h);
        cJSON_AddNumberToObject(o, "series", ti[i].n_series);
        add_time(o, "start", ti[i].start_ns);
        add_time(o, "end", ti[i].end_ns);
        mcp_json_push(arr, o);
    }
    tools__printf(&b, "Profile types, %s, %s\n", a.selector_text,
                  a.has_start || a.has_end ? "requested range" : "all retained data");
    bool everything = !a.has_start && !a.has_end && strcmp(a.selector_text, "{}") == 0;
    if (l->n_rows == 0 && everything) {
        /* the listing itself says the store is empty: asking the store again could find
         * data that arrived since and contradict it */
        tools__printf(&b, "No profiles in the store yet: send OTLP profiles to otelprofd's OTLP "
                          "listeners (gRPC :4317, HTTP :4318) first.\n");
    } else if (l->n_rows == 0) {
        char *types = tools__types_present(t);
        tools__printf(&b,
                      "No data matches this selector and range. Types present in the store "
                      "(any selector, any time): %s.\n",
                      types ? types : "?");
        free(types);
    } else {
        tools__cut_note(&b, shown, l->n_rows, "types", NULL);
        tools__printf(&b, "[%zu]{profile_type,total,total_raw,series,coverage}:\n", shown);
        tools__append(&b, rows.p ? rows.p : "", rows.len);
        tools__printf(&b, "Next: query_profile_table with one of these profile_type values.\n");
    }
    tools__buf_free(&rows);
    win_listing_free(l);
    tools__args_free(&a);
    return tools__answer(out, &b, s);
}

/* ---- list_labels -------------------------------------------------------------------- */

int tools__list_labels(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out)
{
    (void)call;
    tools *t = user;
    tools__args a;
    if (tools__parse_common(t, args, TOOLS__PTYPE_OPTIONAL, &a, out) != 0)
        return 0;
    win_query q = tools__query_of(&a, false);
    base_errbuf eb = {0};
    win_listing *l = win_list_labels(t->store, &q, &eb);
    if (!l) {
        tools__error(out, "cannot list labels: %s", eb.text[0] ? eb.text : "out of memory");
        tools__args_free(&a);
        return 0;
    }
    const win_label_info *li = l->rows;
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "selector", a.selector_text);
    if (a.profile_type)
        cJSON_AddStringToObject(s, "profile_type", a.profile_type);
    cJSON *arr = cJSON_AddArrayToObject(s, "labels");
    tools__buf b = {0}, rows = {0};
    size_t shown = 0;
    for (size_t i = 0; i < l->n_rows; i++) {
        const char *level = li[i].resource_level ? "resource" : "sample";
        if (rows.len < TOOLS__TEXT_BUDGET - 1000) {
            tools__printf(&rows, "  ");
            tools__csv(&rows, li[i].name);
            tools__printf(&rows, ",%u,%s\n", li[i].n_values, level);
            shown++;
        }
        if (cJSON_GetArraySize(arr) < 5000) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", li[i].name);
            cJSON_AddNumberToObject(o, "values", li[i].n_values);
            cJSON_AddStringToObject(o, "level", level);
            mcp_json_push(arr, o);
        }
    }
    tools__printf(&b, "Labels, %s, %s, %s\n", a.profile_type ? a.profile_type : "all types",
                  a.selector_text,
                  a.has_start || a.has_end ? "requested range" : "all retained data");
    if (l->n_rows == 0) {
        tools__printf(&b, "No data matches this selector and range.\n");
    } else {
        tools__cut_note(&b, shown, l->n_rows, "labels", "narrow the selector");
        tools__printf(&b, "[%zu]{name,values,level}:\n", shown);
        tools__append(&b, rows.p ? rows.p : "", rows.len);
        tools__printf(&b, "Resource labels pick series, sample labels pick samples; both work "
                          "in selectors. Next: list_label_values name=<label>.\n");
    }
    tools__buf_free(&rows);
    win_listing_free(l);
    tools__args_free(&a);
    return tools__answer(out, &b, s);
}

/* ---- list_label_values -------------------------------------------------------------- */

int tools__list_label_values(void *user, mcp_call *call, const cJSON *args, mcp_tool_result *out)
{
    (void)call;
    tools *t = user;
    const char *name = NULL;
    uint32_t limit;
    if (tools__str_arg(args, "name", &name, out) != 0 ||
        tools__uint_arg(args, "limit", 50, 1, 1000, &limit, out) != 0)
        return 0;
    if (!name || !*name) {
        tools__error(out, "name is required: the attribute to list, e.g. \"service.name\" or "
                          "\"thread.name\" (list_labels shows the names present)");
        return 0;
    }
    tools__args a;
    if (tools__parse_common(t, args, TOOLS__PTYPE_OPTIONAL, &a, out) != 0)
        return 0;
    win_query q = tools__query_of(&a, false);
    base_errbuf eb = {0};
    /* service_name is how the tools spell service.name too */
    const char *lookup = strcmp(name, "service_name") == 0 ? "service.name" : name;
    win_listing *l = win_list_label_values(t->store, &q, lookup, &eb);
    if (!l) {
        tools__error(out, "cannot list values: %s", eb.text[0] ? eb.text : "out of memory");
        tools__args_free(&a);
        return 0;
    }
    const win_label_value *lv = l->rows;
    /* The total saturates as window/'s sums do (two values of 6e18 ns do not wrap to a
     * negative total); shares divide by the exact sum in double instead, so they stay
     * within 0..100 and add up to 100 even when the integer total is capped. */
    int64_t sum = 0;
    double dsum = 0;
    for (size_t i = 0; i < l->n_rows; i++) {
        sum = base_sat_add(sum, lv[i].total);
        dsum += (double)lv[i].total;
    }
    const char *unit = a.profile_type ? tools__unit_of(a.profile_type) : "count";
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "name", lookup);
    cJSON_AddStringToObject(s, "selector", a.selector_text);
    if (a.profile_type)
        cJSON_AddStringToObject(s, "profile_type", a.profile_type);
    cJSON_AddStringToObject(s, "measure", a.profile_type ? "total" : "observations");
    cJSON_AddNumberToObject(s, "total", (double)sum);
    cJSON_AddNumberToObject(s, "n_values", (double)l->n_rows);
    cJSON *arr = cJSON_AddArrayToObject(s, "values");
    tools__buf b = {0}, rows = {0};
    size_t shown = 0;
    for (size_t i = 0; i < l->n_rows && i < limit; i++) {
        if (rows.len >= TOOLS__TEXT_BUDGET - 1500)
            break;
        char h[32];
        double share = dsum != 0 ? 100.0 * (double)lv[i].total / dsum : 0;
        tools__human(h, sizeof h, (double)lv[i].total, unit);
        tools__printf(&rows, "  ");
        tools__csv(&rows, lv[i].value);
        tools__printf(&rows, ",%s,%.2f\n", h, share);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "value", lv[i].value);
        cJSON_AddNumberToObject(o, "total", (double)lv[i].total);
        cJSON_AddNumberToObject(o, "share_percent", share);
        mcp_json_push(arr, o);
        shown++;
    }
    /* summed from the rows left out, not sum - shown: a capped sum minus a capped sum
     * says nothing */
    int64_t other = 0;
    double dother = 0;
    for (size_t i = shown; i < l->n_rows; i++) {
        other = base_sat_add(other, lv[i].total);
        dother += (double)lv[i].total;
    }
    cJSON_AddNumberToObject(s, "other_total", (double)other);
    tools__printf(&b, "Values of %s, %s, %s, ranked by %s\n", lookup,
                  a.profile_type ? a.profile_type : "all types", a.selector_text,
                  a.profile_type ? "total" : "observation count");
    if (l->n_rows == 0) {
        tools__printf(&b,
                      "No value of %s in data matching this selector and range (list_labels "
                      "shows the names present).\n",
                      lookup);
    } else {
        char h[96];
        tools__human_total(h, sizeof h, sum, unit);
        tools__printf(&b, "Total %s over %zu values; %zu shown%s.\n", h, l->n_rows, shown,
                      shown < l->n_rows && shown < limit ? " (text cut to stay under ~4,000 tokens)"
                                                         : "");
        size_t n = shown + (shown < l->n_rows ? 1 : 0);
        tools__printf(&b, "[%zu]{value,total,share%%}:\n", n);
        tools__append(&b, rows.p ? rows.p : "", rows.len);
        if (shown < l->n_rows) {
            char o[32];
            tools__human(o, sizeof o, (double)other, unit);
            tools__printf(&b, "  (other),%s,%.2f\n", o, dsum != 0 ? 100.0 * dother / dsum : 0.0);
        }
        if (strcmp(lookup, "service.name") == 0)
            tools__printf(&b, "Next: query_profile_table with service_name=<value>.\n");
        else if (strcmp(lookup, "trace_id") == 0 || strcmp(lookup, "span_id") == 0)
            tools__printf(&b,
                          "These are the samples' trace links, heaviest first (share of the "
                          "linked samples). Next: query_profile_table (or _flamegraph, _source) "
                          "with %s=<value> for what that request ran.\n",
                          lookup);
        else
            tools__printf(&b, "Next: add %s=\"<value>\" to a selector.\n", lookup);
    }
    tools__buf_free(&rows);
    win_listing_free(l);
    tools__args_free(&a);
    return tools__answer(out, &b, s);
}
