// OpenSSL's I/O calls with the calling thread's error queue emptied first, for the whole
// process (the chorus executable defines these symbols, so the shared libraries it loads
// call them; each calls the real one in libssl).
//
// Why: CAF 0.17.6's OpenSSL module (the TLS links between nodes) calls SSL_read/SSL_write
// and then SSL_get_error() without clearing the queue first, and leaves errors in it when
// a session fails. OpenSSL 3 queues an error when a peer closes without close_notify (a
// node that exits) or a handshake is refused (a node with a wrong certificate). The next
// SSL_read on another, healthy link that simply has no more data then sees that stale
// error, SSL_get_error() answers SSL_ERROR_SSL instead of SSL_ERROR_WANT_READ, and CAF drops
// that link too: every node's links flapped when one node left (docs/operations.md).
// OpenSSL's documentation asks for an empty queue before these calls; here it is.
// Chorus's own DTLS code and Beast clear it already, so for them nothing changes.
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <dlfcn.h>

namespace {

template <class F>
F real(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

} // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static auto next = real<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static auto next = real<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_connect(SSL* ssl) {
  static auto next = real<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return next(ssl);
}

int SSL_accept(SSL* ssl) {
  static auto next = real<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return next(ssl);
}

} // extern "C"
