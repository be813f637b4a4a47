/*
 * fuzz_agentproto: arbitrary bytes as a stream of agent-protocol frames (docs/agent-protocol.md),
 * parsed as the agent and the daemon's client parse them: frame headers with both payload limits,
 * and every control payload through the JSON decoder and the field getters with the schemas of
 * HELLO, OPEN (exec, archive_put), REPLY/END (stat, exit) and ERROR.
 */
#include <stdint.h>
#include <stdlib.h>

#include "agentproto/frame.h"
#include "base/strv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
decode_control(json_t *o)
{
    struct err *e = NULL;
    const char *s = NULL;
    int64_t v = 0;
    bool b = false;
    char **argv = NULL, **env = NULL;
    /* HELLO / WELCOME */
    frame_get_int(o, "version", false, 0, 255, &v, &e);
    err_clear(&e);
    frame_get_str(o, "container_id", false, 128, &s, &e);
    err_clear(&e);
    frame_get_str(o, "token", false, 4096, &s, &e);
    err_clear(&e);
    json_t *m = json_object_get(o, "main");
    if (json_is_object(m)) {
        frame_get_str(m, "state", false, 16, &s, &e);
        err_clear(&e);
        frame_get_int(m, "pid", true, 0, INT32_MAX, &v, &e);
        err_clear(&e);
    }
    /* OPEN exec and archive_put */
    frame_get_str(o, "op", false, 32, &s, &e);
    err_clear(&e);
    if (frame_get_strv(o, "argv", 4096, &argv, &e) == 0 &&
        frame_get_strv(o, "env", 4096, &env, &e) == 0) {
        char **merged = strv_env_merge(argv, env);
        strv_free(merged);
    }
    err_clear(&e);
    strv_free(argv);
    strv_free(env);
    frame_get_bool(o, "tty", &b, &e);
    err_clear(&e);
    frame_get_int(o, "height", true, 0, 65535, &v, &e);
    err_clear(&e);
    frame_get_int(o, "uid", true, 0, UINT32_MAX - 1, &v, &e);
    err_clear(&e);
    /* REPLY / END: stat and exit */
    frame_get_int(o, "mtime_ns", false, INT64_MIN, INT64_MAX, &v, &e);
    err_clear(&e);
    frame_get_int(o, "exit_code", false, 0, 255, &v, &e);
    err_clear(&e);
    /* ERROR */
    frame_err_from_json(o, "fuzz", &e);
    err_clear(&e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The first byte picks the limit: before or after the handshake. */
    if (size == 0)
        return 0;
    size_t max = data[0] & 1 ? AP_MAX_PAYLOAD : AP_MAX_PREAUTH_PAYLOAD;
    data++, size--;
    while (size > 0) {
        struct ap_frame f;
        struct err *e = NULL;
        int r = frame_parse(data, size, max, &f, &e);
        if (r <= 0) {
            err_clear(&e);
            break;
        }
        switch (f.type) {
        case AP_HELLO:
        case AP_WELCOME:
        case AP_OPEN:
        case AP_REPLY:
        case AP_CONTROL:
        case AP_END:
        case AP_ERROR: {
            json_t *o = frame_json(&f, &e);
            if (o != NULL)
                decode_control(o);
            json_decref(o);
            err_clear(&e);
            break;
        }
        case AP_CREDIT:
            (void)frame_credit(&f);
            break;
        default:
            break;
        }
        data += AP_HDR_LEN + f.len;
        size -= AP_HDR_LEN + f.len;
    }
    return 0;
}
