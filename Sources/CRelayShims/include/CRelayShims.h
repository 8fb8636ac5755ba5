// The C boundary: one prefixed function per libev or OpenSSL macro / inline that Swift
// cannot call, and void-pointer forms of the libcrypto calls on the data path so that
// Swift raw buffers pass without rebinding. No logic lives here.
#ifndef CRELAYSHIMS_H
#define CRELAYSHIMS_H

#include <stddef.h>
#include <ev.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/bio.h>

// MARK: libev

typedef void (*CRelayShims_ev_io_cb)(struct ev_loop *loop, ev_io *watcher, int revents);
typedef void (*CRelayShims_ev_timer_cb)(struct ev_loop *loop, ev_timer *watcher, int revents);
typedef void (*CRelayShims_ev_signal_cb)(struct ev_loop *loop, ev_signal *watcher, int revents);
typedef void (*CRelayShims_ev_child_cb)(struct ev_loop *loop, ev_child *watcher, int revents);

/// `EV_DEFAULT`
struct ev_loop *CRelayShims_ev_default_loop(void);
/// `ev_io_init(watcher, cb, fd, events)`
void CRelayShims_ev_io_init(ev_io *watcher, CRelayShims_ev_io_cb cb, int fd, int events);
/// `ev_timer_init(watcher, cb, after, repeat)`
void CRelayShims_ev_timer_init(ev_timer *watcher, CRelayShims_ev_timer_cb cb, ev_tstamp after, ev_tstamp repeat);
/// `ev_timer_set(watcher, after, repeat)`
void CRelayShims_ev_timer_set(ev_timer *watcher, ev_tstamp after, ev_tstamp repeat);
/// `ev_signal_init(watcher, cb, signum)`
void CRelayShims_ev_signal_init(ev_signal *watcher, CRelayShims_ev_signal_cb cb, int signum);
/// `ev_child_init(watcher, cb, pid, 0)` (default loop only)
void CRelayShims_ev_child_init(ev_child *watcher, CRelayShims_ev_child_cb cb, int pid);
/// `ev_is_active(watcher)`
int CRelayShims_ev_is_active(const void *watcher);

// MARK: libc

/// `accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)`: glibc declares `accept4`
/// only under `_GNU_SOURCE`.
int CRelayShims_accept4_nonblocking(int fd);
/// `mallopt(M_MMAP_THRESHOLD, bytes)` (`<malloc.h>` is not in the Glibc module).
int CRelayShims_mallopt_mmap_threshold(int bytes);
/// `pipe2(fds, O_NONBLOCK | O_CLOEXEC)` (`_GNU_SOURCE`).
int CRelayShims_pipe2_nonblocking(int fds[2]);
/// `fcntl(fd, F_SETPIPE_SZ, size)`: the pipe's capacity, or -1 (`_GNU_SOURCE`).
int CRelayShims_fcntl_set_pipe_size(int fd, int size);
/// `fcntl(fd, F_GETPIPE_SZ)`: the pipe's capacity, or -1 (`_GNU_SOURCE`).
int CRelayShims_fcntl_get_pipe_size(int fd);
/// `splice(fd_in, NULL, fd_out, NULL, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK)` (`_GNU_SOURCE`).
long CRelayShims_splice_nonblocking(int fd_in, int fd_out, size_t len);
/// fork + exec of `/bin/sh -c command` with `stdin_fd`/`stdout_fd` as the child's
/// standard input/output (standard error inherited). In the child, before exec: signal
/// dispositions and mask back to the defaults (the client ignores SIGPIPE, libev blocks
/// what it watches) and `prctl(PR_SET_PDEATHSIG, SIGTERM)`, so the child is told to stop
/// when the client dies. Returns the child's pid, or -1 with errno.
int CRelayShims_spawn_shell(const char *command, int stdin_fd, int stdout_fd);

// MARK: libcrypto (void * forms)

int CRelayShims_EVP_EncryptUpdate(EVP_CIPHER_CTX *ctx, void *out, int *outl, const void *in, int inl);
int CRelayShims_EVP_EncryptFinal_ex(EVP_CIPHER_CTX *ctx, void *out, int *outl);
int CRelayShims_EVP_DecryptUpdate(EVP_CIPHER_CTX *ctx, void *out, int *outl, const void *in, int inl);
int CRelayShims_EVP_DecryptFinal_ex(EVP_CIPHER_CTX *ctx, void *out, int *outl);
int CRelayShims_EVP_CipherInit_ex2(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher, const void *key, const void *iv, int enc);
int CRelayShims_EVP_MAC_update(EVP_MAC_CTX *ctx, const void *data, size_t datalen);
int CRelayShims_EVP_MAC_final(EVP_MAC_CTX *ctx, void *out, size_t *outl, size_t outsize);
int CRelayShims_EVP_MAC_init(EVP_MAC_CTX *ctx, const void *key, size_t keylen);
int CRelayShims_RAND_bytes(void *buf, int num);
int CRelayShims_RAND_priv_bytes(void *buf, int num);

// MARK: libssl macros

/// `SSL_CTX_set_min_proto_version(ctx, version)`
int CRelayShims_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version);
/// `SSL_CTX_set_max_proto_version(ctx, version)`
int CRelayShims_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version);
/// `SSL_CTX_set_mode(ctx, mode)`
long CRelayShims_SSL_CTX_set_mode(SSL_CTX *ctx, long mode);
/// `SSL_set_tlsext_host_name(ssl, name)`
int CRelayShims_SSL_set_tlsext_host_name(SSL *ssl, const char *name);
/// `EVP_EC_gen(curve)`
EVP_PKEY *CRelayShims_EVP_EC_gen(const char *curve);
/// `BIO_get_mem_data(bio, &data)`
long CRelayShims_BIO_get_mem_data(BIO *bio, char **data);
/// `OPENSSL_free(addr)`
void CRelayShims_OPENSSL_free(void *addr);
/// `OPENSSL_clear_free(addr, num)`
void CRelayShims_OPENSSL_clear_free(void *addr, size_t num);

#endif
