#define _GNU_SOURCE
#include <sys/socket.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>
#include <sys/prctl.h>
#include "CRelayShims.h"
#include <openssl/rand.h>
#include <openssl/ec.h>

struct ev_loop *CRelayShims_ev_default_loop(void) { return EV_DEFAULT; }

void CRelayShims_ev_io_init(ev_io *watcher, CRelayShims_ev_io_cb cb, int fd, int events) {
    ev_io_init(watcher, cb, fd, events);
}

void CRelayShims_ev_timer_init(ev_timer *watcher, CRelayShims_ev_timer_cb cb, ev_tstamp after, ev_tstamp repeat) {
    ev_timer_init(watcher, cb, after, repeat);
}

void CRelayShims_ev_timer_set(ev_timer *watcher, ev_tstamp after, ev_tstamp repeat) {
    ev_timer_set(watcher, after, repeat);
}

void CRelayShims_ev_signal_init(ev_signal *watcher, CRelayShims_ev_signal_cb cb, int signum) {
    ev_signal_init(watcher, cb, signum);
}

void CRelayShims_ev_child_init(ev_child *watcher, CRelayShims_ev_child_cb cb, int pid) {
    ev_child_init(watcher, cb, pid, 0);
}

int CRelayShims_ev_is_active(const void *watcher) { return ev_is_active(watcher); }

int CRelayShims_accept4_nonblocking(int fd) { return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }
int CRelayShims_mallopt_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }
int CRelayShims_pipe2_nonblocking(int fds[2]) { return pipe2(fds, O_NONBLOCK | O_CLOEXEC); }
int CRelayShims_fcntl_set_pipe_size(int fd, int size) { return fcntl(fd, F_SETPIPE_SZ, size); }
int CRelayShims_fcntl_get_pipe_size(int fd) { return fcntl(fd, F_GETPIPE_SZ); }
int CRelayShims_spawn_shell(const char *command, int stdin_fd, int stdout_fd) {
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) return pid;
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    }
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    if (stdin_fd != 0) { dup2(stdin_fd, 0); close(stdin_fd); }
    if (stdout_fd != 1) { dup2(stdout_fd, 1); close(stdout_fd); }
    int flags = fcntl(0, F_GETFL);
    if (flags >= 0) fcntl(0, F_SETFL, flags & ~O_NONBLOCK);
    flags = fcntl(1, F_GETFL);
    if (flags >= 0) fcntl(1, F_SETFL, flags & ~O_NONBLOCK);
    execl("/bin/sh", "sh", "-c", command, (char *)NULL);
    _exit(127);
}
long CRelayShims_splice_nonblocking(int fd_in, int fd_out, size_t len) {
    return splice(fd_in, NULL, fd_out, NULL, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
}

int CRelayShims_EVP_EncryptUpdate(EVP_CIPHER_CTX *ctx, void *out, int *outl, const void *in, int inl) {
    return EVP_EncryptUpdate(ctx, out, outl, in, inl);
}

int CRelayShims_EVP_EncryptFinal_ex(EVP_CIPHER_CTX *ctx, void *out, int *outl) {
    return EVP_EncryptFinal_ex(ctx, out, outl);
}

int CRelayShims_EVP_DecryptUpdate(EVP_CIPHER_CTX *ctx, void *out, int *outl, const void *in, int inl) {
    return EVP_DecryptUpdate(ctx, out, outl, in, inl);
}

int CRelayShims_EVP_DecryptFinal_ex(EVP_CIPHER_CTX *ctx, void *out, int *outl) {
    return EVP_DecryptFinal_ex(ctx, out, outl);
}

int CRelayShims_EVP_CipherInit_ex2(EVP_CIPHER_CTX *ctx, const EVP_CIPHER *cipher, const void *key, const void *iv, int enc) {
    return EVP_CipherInit_ex2(ctx, cipher, key, iv, enc, NULL);
}

int CRelayShims_EVP_MAC_update(EVP_MAC_CTX *ctx, const void *data, size_t datalen) {
    return EVP_MAC_update(ctx, data, datalen);
}

int CRelayShims_EVP_MAC_final(EVP_MAC_CTX *ctx, void *out, size_t *outl, size_t outsize) {
    return EVP_MAC_final(ctx, out, outl, outsize);
}

int CRelayShims_EVP_MAC_init(EVP_MAC_CTX *ctx, const void *key, size_t keylen) {
    return EVP_MAC_init(ctx, key, keylen, NULL);
}

int CRelayShims_RAND_bytes(void *buf, int num) { return RAND_bytes(buf, num); }

int CRelayShims_RAND_priv_bytes(void *buf, int num) { return RAND_priv_bytes(buf, num); }

int CRelayShims_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

int CRelayShims_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}

long CRelayShims_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }

int CRelayShims_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}

EVP_PKEY *CRelayShims_EVP_EC_gen(const char *curve) { return EVP_EC_gen(curve); }

long CRelayShims_BIO_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

void CRelayShims_OPENSSL_free(void *addr) { OPENSSL_free(addr); }

void CRelayShims_OPENSSL_clear_free(void *addr, size_t num) { OPENSSL_clear_free(addr, num); }
