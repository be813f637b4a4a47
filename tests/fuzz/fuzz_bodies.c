/*
 * fuzz_bodies: request bodies through the decoders the handlers use (api/decode.h,
 * api/container_doc.h), before anything reaches the engine. The first byte picks the body:
 * 0 container create (Config, HostConfig, NetworkingConfig, Mounts; the second byte also
 * picks a `name`), 1 exec create, 2 network create, 3 network connect, 4 volume create. The
 * rest is the body as a client sends it.
 */
#include <stdint.h>
#include <stdlib.h>

#include "api/container_doc.h"
#include "api/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {NULL, "", "web", "/web", "a b", "x.y_z-1"};
    if (size < 2 || size > 256 * 1024)
        return 0;
    struct err *err = NULL;
    json_t *body = api_parse_object(data + 2, size - 2, &err);
    if (body == NULL) {
        err_clear(&err);
        return 0;
    }
    switch (data[0] % 5) {
    case 0: {
        struct container_create req;
        (void)container_doc_decode(names[data[1] % (sizeof(names) / sizeof(names[0]))], body, &req,
                                   &err);
        container_create_fini(&req);
        break;
    }
    case 1: {
        struct exec_spec spec;
        (void)api_exec_create_decode(body, &spec, &err);
        exec_spec_fini(&spec);
        break;
    }
    case 2: {
        struct network_spec spec;
        (void)api_network_create_decode(body, &spec, &err);
        network_spec_fini(&spec);
        break;
    }
    case 3: {
        struct network_connect_req c;
        (void)api_network_connect_decode(body, &c, &err);
        network_connect_req_fini(&c);
        break;
    }
    default: {
        struct volume_create_req v;
        (void)api_volume_create_decode(body, &v, &err);
        volume_create_req_fini(&v);
        break;
    }
    }
    err_clear(&err);
    json_decref(body);
    return 0;
}
