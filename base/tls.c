/* base/tls.c — the client-certificate check both libmicrohttpd listeners need (see base.h). */
#include <gnutls/gnutls.h>
#include <stdio.h>

#include "base/base.h"

bool base_tls_verify_peer(void *gnutls_session, char *why, size_t why_len)
{
    if (!gnutls_session) {
        snprintf(why, why_len, "no TLS session");
        return false;
    }
    unsigned status = 0;
    int rc = gnutls_certificate_verify_peers2((gnutls_session_t)gnutls_session, &status);
    if (rc == GNUTLS_E_NO_CERTIFICATE_FOUND) {
        snprintf(why, why_len, "the client sent no certificate");
        return false;
    }
    if (rc < 0) {
        snprintf(why, why_len, "cannot verify the client certificate: %s", gnutls_strerror(rc));
        return false;
    }
    if (status != 0) {
        gnutls_datum_t text = {NULL, 0};
        if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0 &&
            text.data) {
            snprintf(why, why_len, "client certificate refused: %s", (const char *)text.data);
            gnutls_free(text.data);
        } else {
            snprintf(why, why_len, "client certificate refused (status 0x%x)", status);
        }
        return false;
    }
    return true;
}
