#include "base/digest.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

void
digest_sha256(const void *data, size_t len, char out[DIGEST_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
        abort(); /* SHA-256 cannot fail short of a broken libcrypto */
    memcpy(out, "sha256:", 7);
    for (unsigned i = 0; i < 32; i++) {
        out[7 + 2 * i] = hex[md[i] >> 4];
        out[7 + 2 * i + 1] = hex[md[i] & 15];
    }
    out[DIGEST_LEN] = '\0';
}
