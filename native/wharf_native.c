// The three system calls a build step needs that Node has no API for: mount(2) of an overlay,
// umount2(2) (also on the thread pool), and reading a tree's extended attributes. Without this
// addon each is a child process (mount, umount, getfattr: ~2.5 ms each, three per step); see
// src/util/native.ts for the fallback.
// Also one directory's sorted listing with every entry's lstat in one call, for walking a build
// context and for writing a layer tar: Node's lstatSync resolves the whole path and allocates a
// BigInt Stats per file, which was most of a no-op build of a 50,000-file context.
//
// And sha256 on the thread pool, so hashing a layer blob overlaps with making it; through the
// OpenSSL that Node itself exports, looked up when first used (without it those calls are absent
// and the rest works).
//
// And a new network namespace without a helper process (src/runtime/network.ts).
//
// And page-aligned memory, which writes through O_DIRECT need (src/store/direct-write.ts).
//
// And what a short-lived CLI otherwise pays Node for at every start and exit (bench/README.md,
// "Speed, tenth round"): its bundle and code cache mapped rather than read and copied (mapFile),
// sha256 and random names without loading node:crypto, and an _exit once the 'exit' handlers ran.
//
// Built by `npm run build` (scripts/build-native.mjs) with the system C compiler against Node's
// own headers; Node-API only, so one build serves every Node version of the machine.
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <sys/xattr.h>
#include <unistd.h>

#define CHECK(call)                                                                               \
  do {                                                                                            \
    if ((call) != napi_ok) return NULL;                                                           \
  } while (0)

// An Error named after errno (its `code`), with `errno` set, as Node's own fs errors have.
static napi_value errno_error(napi_env env, const char *what, int err) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, message, error;
  const char *name = strerrorname_np(err);
  napi_create_string_utf8(env, name ? name : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_value errno_value;
  napi_create_int32(env, err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  return error;
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  napi_throw(env, errno_error(env, what, err));
  return NULL;
}

// A string argument copied into a malloc'd buffer (freed by the caller).
static char *string_arg(napi_env env, napi_value v) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s && napi_get_value_string_utf8(env, v, s, len + 1, &len) != napi_ok) {
    free(s);
    return NULL;
  }
  return s;
}

struct mount_job {
  const char *cwd, *options, *target;
  int err;
};

// The overlay option string names lower dirs relative to a links dir (the one-page limit, see
// src/snapshot/overlay.ts). chdir there on a thread of our own that has unshared its fs context
// (CLONE_FS), so the process's working directory never moves under Node's other threads.
static void *mount_thread(void *arg) {
  struct mount_job *job = arg;
  job->err = 0;
  if (unshare(CLONE_FS) != 0 || chdir(job->cwd) != 0 || mount("overlay", job->target, "overlay", 0, job->options) != 0) job->err = errno;
  return NULL;
}

// mountOverlay(linksDir, options, target)
static napi_value mount_overlay(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char *cwd = string_arg(env, argv[0]), *options = string_arg(env, argv[1]), *target = string_arg(env, argv[2]);
  struct mount_job job = {cwd, options, target, EINVAL};
  pthread_t t;
  int started = cwd && options && target ? pthread_create(&t, NULL, mount_thread, &job) : EINVAL;
  if (started == 0) pthread_join(t, NULL);
  else job.err = started;
  free(cwd);
  free(options);
  free(target);
  if (job.err != 0) return throw_errno(env, "mount overlay", job.err);
  return NULL;
}

// umount(target, detach)
static napi_value do_umount(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool detach = false;
  if (argc > 1) napi_get_value_bool(env, argv[1], &detach);
  char *target = string_arg(env, argv[0]);
  if (!target) return throw_errno(env, "umount", EINVAL);
  int rc = umount2(target, detach ? MNT_DETACH : 0);
  int err = errno;
  free(target);
  if (rc != 0) return throw_errno(env, "umount", err);
  return NULL;
}

// umountAsync(target, detach) → a promise: umount2(2) on the thread pool. An overlay's umount syncs
// its upper dir's whole file system (milliseconds, more under load); the step commits its layer
// from the upper dir meanwhile (src/ops/container.ts).
struct umount_job {
  char *target;
  bool detach;
  int err;
  napi_deferred deferred;
  napi_async_work work;
};

static void umount_execute(napi_env env, void *data) {
  struct umount_job *job = data;
  job->err = umount2(job->target, job->detach ? MNT_DETACH : 0) == 0 ? 0 : errno;
}

static void umount_complete(napi_env env, napi_status status, void *data) {
  struct umount_job *job = data;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  if (status == napi_ok && job->err == 0) napi_resolve_deferred(env, job->deferred, undefined);
  else napi_reject_deferred(env, job->deferred, errno_error(env, "umount", status == napi_ok ? job->err : EIO));
  napi_delete_async_work(env, job->work);
  free(job->target);
  free(job);
}

static napi_value do_umount_async(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], promise, name;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct umount_job *job = calloc(1, sizeof *job);
  if (!job) return throw_errno(env, "umount", ENOMEM);
  if (argc > 1) napi_get_value_bool(env, argv[1], &job->detach);
  job->target = argc > 0 ? string_arg(env, argv[0]) : NULL;
  if (!job->target) {
    free(job);
    return throw_errno(env, "umount", EINVAL);
  }
  napi_create_string_utf8(env, "wharf:umount", NAPI_AUTO_LENGTH, &name);
  if (napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_async_work(env, NULL, name, umount_execute, umount_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    free(job->target);
    free(job);
    return throw_errno(env, "umount", ENOMEM);
  }
  return promise;
}

struct walk {
  napi_env env;
  napi_value out;
  uint32_t n;
  int err;
  char path[8192];
  size_t root_len;
};

// One file's attributes, appended to `out` as rel, name, value triples.
static void push_xattrs(struct walk *w, const char *rel) {
  ssize_t len = llistxattr(w->path, NULL, 0);
  if (len <= 0) {
    if (len < 0 && errno != ENOTSUP && errno != ENODATA) w->err = errno;
    return;
  }
  char *names = malloc(len);
  if (!names) {
    w->err = ENOMEM;
    return;
  }
  len = llistxattr(w->path, names, len);
  for (ssize_t off = 0; len > 0 && off < len; off += strlen(names + off) + 1) {
    const char *name = names + off;
    ssize_t vlen = lgetxattr(w->path, name, NULL, 0);
    if (vlen < 0) continue; // removed meanwhile, or not readable: as getfattr skips it
    void *data;
    napi_value buf, s;
    if (napi_create_buffer(w->env, vlen, &data, &buf) != napi_ok) break;
    if (vlen > 0) vlen = lgetxattr(w->path, name, data, vlen);
    if (vlen < 0) continue;
    napi_create_string_utf8(w->env, rel, NAPI_AUTO_LENGTH, &s);
    napi_set_element(w->env, w->out, w->n++, s);
    napi_create_string_utf8(w->env, name, NAPI_AUTO_LENGTH, &s);
    napi_set_element(w->env, w->out, w->n++, s);
    napi_set_element(w->env, w->out, w->n++, buf);
  }
  free(names);
}

// Depth-first over w->path (a directory), never following symlinks.
static void walk_dir(struct walk *w) {
  DIR *d = opendir(w->path);
  if (!d) {
    w->err = errno;
    return;
  }
  size_t base = strlen(w->path);
  struct dirent *e;
  while (w->err == 0 && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    size_t name_len = strlen(e->d_name);
    if (base + 1 + name_len >= sizeof w->path) {
      w->err = ENAMETOOLONG;
      break;
    }
    w->path[base] = '/';
    memcpy(w->path + base + 1, e->d_name, name_len + 1);
    push_xattrs(w, w->path + w->root_len + 1);
    struct stat st;
    if (e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && lstat(w->path, &st) == 0 && S_ISDIR(st.st_mode))) walk_dir(w);
    w->path[base] = '\0';
  }
  closedir(d);
}

// A walk over the path in the call's first argument, with an empty output array; NULL after
// throwing (no memory, or a path too long for walk.path).
static struct walk *open_walk(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  struct walk *w = calloc(1, sizeof *w);
  if (!w) {
    throw_errno(env, "read xattrs", ENOMEM);
    return NULL;
  }
  w->env = env;
  size_t len;
  if (napi_get_value_string_utf8(env, argv[0], w->path, sizeof w->path, &len) != napi_ok || len + 1 >= sizeof w->path) {
    free(w);
    throw_errno(env, "read xattrs", ENAMETOOLONG);
    return NULL;
  }
  w->root_len = len;
  napi_create_array(env, &w->out);
  return w;
}

// readTreeXattrs(dir) → [rel, name, value, ...]; rel is '' for dir itself.
static napi_value read_tree_xattrs(napi_env env, napi_callback_info info) {
  struct walk *w = open_walk(env, info);
  if (!w) return NULL;
  push_xattrs(w, "");
  if (w->err == 0) walk_dir(w);
  napi_value out = w->out;
  int err = w->err;
  char path[8192];
  memcpy(path, w->path, sizeof path);
  free(w);
  if (err != 0) return throw_errno(env, path, err);
  return out;
}

// readFileXattrs(path) → [name, value, ...]: one path's attributes (not following a symlink);
// [] when it has none or the file system keeps none.
static napi_value read_file_xattrs(napi_env env, napi_callback_info info) {
  struct walk *w = open_walk(env, info);
  if (!w) return NULL;
  push_xattrs(w, "");
  napi_value triples = w->out;
  int err = w->err;
  free(w);
  if (err != 0) return throw_errno(env, "read xattrs", err);
  // push_xattrs writes rel, name, value triples; drop the (empty) rel.
  uint32_t n = 0, k = 0;
  napi_get_array_length(env, triples, &n);
  napi_value out, v;
  napi_create_array(env, &out);
  for (uint32_t i = 0; i + 2 < n; i += 3) {
    napi_get_element(env, triples, i + 1, &v);
    napi_set_element(env, out, k++, v);
    napi_get_element(env, triples, i + 2, &v);
    napi_set_element(env, out, k++, v);
  }
  return out;
}

// Numbers per entry in read_dir_stats' Float64Array: st_mode, uid, gid, size, mtime in whole ms.
#define DIR_STAT_FIELDS 5

static int compare_names(const void *a, const void *b) {
  // Bytewise, as Go sorts names (fsutil's walk order).
  return strcmp(*(char *const *)a, *(char *const *)b);
}

// A growing byte string; `failed` once an allocation did not succeed.
struct text {
  char *s;
  size_t len, cap;
  bool failed;
};

static void text_add(struct text *t, const char *s, size_t n) {
  if (t->failed) return;
  if (t->len + n > t->cap) {
    size_t cap = t->cap ? t->cap : 4096;
    while (cap < t->len + n) cap *= 2;
    char *grown = realloc(t->s, cap);
    if (!grown) {
      t->failed = true;
      return;
    }
    t->s = grown;
    t->cap = cap;
  }
  memcpy(t->s + t->len, s, n);
  t->len += n;
}

// Decimal digits of v at the end of buf (at least 24 bytes); returns where they start.
static char *decimal(char *end, unsigned long long v) {
  *--end = '\0';
  do *--end = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  return end;
}

static void text_number(struct text *t, long long v) {
  char buf[24], *d = decimal(buf + sizeof buf, v < 0 ? -(unsigned long long)v : (unsigned long long)v);
  if (v < 0) text_add(t, "-", 1);
  text_add(t, d, buf + sizeof buf - 1 - d);
}

// "size:mtime:ctime:ino:mode", times as seconds.nanoseconds: src/context/walk.ts's statSignature.
static void text_signature(struct text *t, const struct stat *st) {
  text_number(t, st->st_size);
  text_add(t, ":", 1);
  text_number(t, st->st_mtim.tv_sec);
  text_add(t, ".", 1);
  text_number(t, st->st_mtim.tv_nsec);
  text_add(t, ":", 1);
  text_number(t, st->st_ctim.tv_sec);
  text_add(t, ".", 1);
  text_number(t, st->st_ctim.tv_nsec);
  text_add(t, ":", 1);
  char buf[24], *d = decimal(buf + sizeof buf, st->st_ino);
  text_add(t, d, buf + sizeof buf - 1 - d);
  text_add(t, ":", 1);
  text_number(t, st->st_mode);
}

struct dir_listing {
  char **names;
  size_t n, cap;
};

// The names in dir besides . and .., sorted; 0 or an errno.
static int list_names(DIR *d, struct dir_listing *l) {
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (l->n == l->cap) {
      size_t cap = l->cap ? l->cap * 2 : 64;
      char **grown = realloc(l->names, cap * sizeof *grown);
      if (!grown) return ENOMEM;
      l->names = grown;
      l->cap = cap;
    }
    if (!(l->names[l->n] = strdup(e->d_name))) return ENOMEM;
    l->n++;
  }
  if (errno != 0) return errno;
  qsort(l->names, l->n, sizeof *l->names, compare_names);
  return 0;
}

// Numbers per entry for a layer tar (readDirEntries): st_mode, uid, gid, size, mtime seconds,
// nlink, inode high and low 32 bits, st_dev major and minor, st_rdev major and minor, birth time
// seconds and nanoseconds (0 and 0 where the filesystem keeps none).
#define TAR_STAT_FIELDS 14

// Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF): what survives
// Node's utf8 decoding unchanged.
static bool valid_utf8(const unsigned char *s) {
  while (*s) {
    unsigned c = *s++;
    if (c < 0x80) continue;
    int extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : -1;
    if (extra < 0 || c > 0xf4) return false;
    unsigned cp = c & (0x3f >> extra);
    for (int i = 0; i < extra; i++, s++) {
      if ((*s & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (*s & 0x3f);
    }
    if ((extra == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (extra == 3 && (cp < 0x10000 || cp > 0x10ffff))) return false;
  }
  return true;
}

enum listing_kind { FOR_WALK, FOR_TAR };

// One directory's sorted entries with their lstat, for readDirStats and readDirEntries (see
// there); the third element is the signatures for FOR_WALK and '' for FOR_TAR.
static napi_value list_dir(napi_env env, napi_callback_info info, enum listing_kind kind) {
  size_t argc = 2;
  napi_value argv[2], result = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  const size_t fields = kind == FOR_WALK ? DIR_STAT_FIELDS : TAR_STAT_FIELDS;
  char *dir = string_arg(env, argv[0]);
  char *prefix = kind == FOR_WALK && argc > 1 ? string_arg(env, argv[1]) : strdup("");
  if (!dir || !prefix) {
    free(dir);
    free(prefix);
    return throw_errno(env, "readdir", EINVAL);
  }
  size_t prefix_len = strlen(prefix);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    int err = errno;
    if (fd >= 0) close(fd);
    free(dir);
    free(prefix);
    if (err == ENOENT) {
      napi_get_null(env, &result);
      return result;
    }
    return throw_errno(env, "readdir", err);
  }
  free(dir);
  struct dir_listing l = {NULL, 0, 0};
  int err = list_names(d, &l);
  double *nums = l.n ? malloc(l.n * fields * sizeof *nums) : NULL;
  if (err == 0 && l.n && !nums) err = ENOMEM;
  struct text names = {0}, sigs = {0};
  size_t kept = 0;
  for (size_t i = 0; err == 0 && i < l.n; i++) {
    double *f = nums + kept * fields;
    if (kind == FOR_WALK) {
      struct stat st;
      if (fstatat(dirfd(d), l.names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;
        err = errno;
        break;
      }
      f[0] = st.st_mode;
      f[1] = st.st_uid;
      f[2] = st.st_gid;
      f[3] = (double)st.st_size;
      f[4] = (double)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
      if (kept > 0) text_add(&sigs, "", 1);
      text_signature(&sigs, &st);
    } else {
      if (!valid_utf8((const unsigned char *)l.names[i])) {
        err = EILSEQ; // the caller lists the directory itself and names the file
        break;
      }
      struct statx sx;
      if (statx(dirfd(d), l.names[i], AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0) {
        if (errno == ENOENT) continue;
        err = errno;
        break;
      }
      bool btime = (sx.stx_mask & STATX_BTIME) != 0;
      f[0] = sx.stx_mode;
      f[1] = sx.stx_uid;
      f[2] = sx.stx_gid;
      f[3] = (double)sx.stx_size;
      f[4] = (double)sx.stx_mtime.tv_sec;
      f[5] = sx.stx_nlink;
      f[6] = (double)(sx.stx_ino >> 32);
      f[7] = (double)(sx.stx_ino & 0xffffffffu);
      f[8] = sx.stx_dev_major;
      f[9] = sx.stx_dev_minor;
      f[10] = sx.stx_rdev_major;
      f[11] = sx.stx_rdev_minor;
      f[12] = btime ? (double)sx.stx_btime.tv_sec : 0;
      f[13] = btime ? sx.stx_btime.tv_nsec : 0;
    }
    if (kept > 0) text_add(&names, "", 1);
    text_add(&names, prefix, prefix_len);
    text_add(&names, l.names[i], strlen(l.names[i]));
    kept++;
  }
  closedir(d);
  free(prefix);
  for (size_t i = 0; i < l.n; i++) free(l.names[i]);
  free(l.names);
  if (err == 0 && (names.failed || sigs.failed)) err = ENOMEM;
  napi_value names_value, sigs_value, buffer, stats;
  void *data;
  if (err == 0 && (napi_create_string_utf8(env, names.s ? names.s : "", names.len, &names_value) != napi_ok ||
                   napi_create_string_latin1(env, sigs.s ? sigs.s : "", sigs.len, &sigs_value) != napi_ok ||
                   napi_create_arraybuffer(env, kept * fields * sizeof(double), &data, &buffer) != napi_ok ||
                   napi_create_typedarray(env, napi_float64_array, kept * fields, buffer, 0, &stats) != napi_ok ||
                   napi_create_array_with_length(env, 3, &result) != napi_ok))
    err = ENOMEM;
  if (err == 0 && kept) memcpy(data, nums, kept * fields * sizeof(double));
  free(nums);
  free(names.s);
  free(sigs.s);
  if (err != 0) return throw_errno(env, "readdir", err);
  napi_set_element(env, result, 0, names_value);
  napi_set_element(env, result, 1, stats);
  napi_set_element(env, result, 2, sigs_value);
  return result;
}

// readDirStats(dir, prefix) → [paths, stats, sigs] or null when dir is gone, for walking a build
// context. paths (prefix + name, sorted by name bytewise) and sigs are one string each, joined by
// NUL: one JS string per directory instead of two per entry, and no path concatenation in JS.
// stats holds DIR_STAT_FIELDS numbers per name. A name that vanished before its lstat is left out.
static napi_value read_dir_stats(napi_env env, napi_callback_info info) {
  return list_dir(env, info, FOR_WALK);
}

// readDirEntries(dir) → [names, stats, ''] or null, for writing a layer tar: as readDirStats with
// TAR_STAT_FIELDS numbers per name (from statx, for the birth time). A name that is not
// well-formed UTF-8 throws EILSEQ.
static napi_value read_dir_entries(napi_env env, napi_callback_info info) {
  return list_dir(env, info, FOR_TAR);
}

// OpenSSL's EVP digest calls, found in the process (Node exports them) rather than linked, so an
// addon loaded where they are missing still offers everything else.
typedef struct evp_md_ctx EVP_MD_CTX;
typedef struct evp_md EVP_MD;
static struct {
  EVP_MD_CTX *(*ctx_new)(void);
  void (*ctx_free)(EVP_MD_CTX *);
  const EVP_MD *(*sha256)(void);
  int (*init)(EVP_MD_CTX *, const EVP_MD *, void *);
  int (*update)(EVP_MD_CTX *, const void *, size_t);
  int (*final)(EVP_MD_CTX *, unsigned char *, unsigned int *);
  bool looked, ok;
} evp;

static bool have_evp(void) {
  if (!evp.looked) {
    evp.looked = true;
    evp.ctx_new = (EVP_MD_CTX * (*)(void)) dlsym(RTLD_DEFAULT, "EVP_MD_CTX_new");
    evp.ctx_free = (void (*)(EVP_MD_CTX *))dlsym(RTLD_DEFAULT, "EVP_MD_CTX_free");
    evp.sha256 = (const EVP_MD *(*)(void))dlsym(RTLD_DEFAULT, "EVP_sha256");
    evp.init = (int (*)(EVP_MD_CTX *, const EVP_MD *, void *))dlsym(RTLD_DEFAULT, "EVP_DigestInit_ex");
    evp.update = (int (*)(EVP_MD_CTX *, const void *, size_t))dlsym(RTLD_DEFAULT, "EVP_DigestUpdate");
    evp.final = (int (*)(EVP_MD_CTX *, unsigned char *, unsigned int *))dlsym(RTLD_DEFAULT, "EVP_DigestFinal_ex");
    evp.ok = evp.ctx_new && evp.ctx_free && evp.sha256 && evp.init && evp.update && evp.final;
  }
  return evp.ok;
}

// One sha256 in progress. Updates run one at a time on the thread pool (the caller chains them);
// `busy` turns a second one started meanwhile into an error instead of a corrupt digest.
struct hasher {
  EVP_MD_CTX *ctx;
  bool busy, failed, done;
};

static void free_hasher(napi_env env, void *data, void *hint) {
  struct hasher *h = data;
  if (h->ctx) evp.ctx_free(h->ctx);
  free(h);
}

// sha256Create() → an opaque hasher, or null when OpenSSL's digest calls are not in the process.
static napi_value sha256_create(napi_env env, napi_callback_info info) {
  napi_value result;
  if (!have_evp()) {
    napi_get_null(env, &result);
    return result;
  }
  struct hasher *h = calloc(1, sizeof *h);
  if (!h || !(h->ctx = evp.ctx_new()) || evp.init(h->ctx, evp.sha256(), NULL) != 1) {
    if (h && h->ctx) evp.ctx_free(h->ctx);
    free(h);
    return throw_errno(env, "sha256", ENOMEM);
  }
  if (napi_create_external(env, h, free_hasher, NULL, &result) != napi_ok) {
    free_hasher(env, h, NULL);
    return throw_errno(env, "sha256", ENOMEM);
  }
  return result;
}

struct hash_job {
  struct hasher *h;
  const void *data;
  size_t len;
  napi_ref chunk, hasher; // keep the bytes and the hasher alive until the update ran
  napi_deferred deferred;
  napi_async_work work;
};

static void hash_execute(napi_env env, void *data) {
  struct hash_job *job = data;
  if (evp.update(job->h->ctx, job->data, job->len) != 1) job->h->failed = true;
}

static void hash_complete(napi_env env, napi_status status, void *data) {
  struct hash_job *job = data;
  job->h->busy = false;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  if (status == napi_ok && !job->h->failed) napi_resolve_deferred(env, job->deferred, undefined);
  else {
    napi_value message, error;
    napi_create_string_utf8(env, "sha256: update failed", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &error);
    napi_reject_deferred(env, job->deferred, error);
  }
  napi_delete_reference(env, job->chunk);
  napi_delete_reference(env, job->hasher);
  napi_delete_async_work(env, job->work);
  free(job);
}

// sha256Update(hasher, chunk) → a promise, settled once the chunk is hashed on the thread pool.
// The chunk must not change until then, and the next update must wait for it.
static napi_value sha256_update(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], promise, name;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct hasher *h;
  void *data;
  size_t len;
  if (argc < 2 || napi_get_value_external(env, argv[0], (void **)&h) != napi_ok || napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok)
    return throw_errno(env, "sha256 update", EINVAL);
  if (h->busy || h->done) return throw_errno(env, "sha256 update while another runs or after the digest", EBUSY);
  struct hash_job *job = calloc(1, sizeof *job);
  if (!job) return throw_errno(env, "sha256 update", ENOMEM);
  job->h = h;
  job->data = data;
  job->len = len;
  napi_create_string_utf8(env, "wharf:sha256", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, argv[1], 1, &job->chunk) != napi_ok || napi_create_reference(env, argv[0], 1, &job->hasher) != napi_ok ||
      napi_create_promise(env, &job->deferred, &promise) != napi_ok ||
      napi_create_async_work(env, NULL, name, hash_execute, hash_complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    free(job); // the references leak only on an allocation failure inside V8, which is fatal anyway
    return throw_errno(env, "sha256 update", ENOMEM);
  }
  h->busy = true;
  return promise;
}

// `n` bytes as lowercase hex into `hex` (2n characters, no terminator).
static void hex_encode(const unsigned char *bytes, size_t n, char *hex) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    hex[2 * i] = digits[bytes[i] >> 4];
    hex[2 * i + 1] = digits[bytes[i] & 15];
  }
}

// Finishes `ctx` into 64 hex characters.
static bool digest_hex(EVP_MD_CTX *ctx, char hex[64]) {
  unsigned char md[32];
  unsigned int n = 0;
  if (evp.final(ctx, md, &n) != 1 || n != 32) return false;
  hex_encode(md, 32, hex);
  return true;
}

// sha256Digest(hasher) → the digest as lowercase hex; the hasher is finished after it.
static napi_value sha256_digest(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct hasher *h;
  if (argc < 1 || napi_get_value_external(env, argv[0], (void **)&h) != napi_ok) return throw_errno(env, "sha256 digest", EINVAL);
  if (h->busy || h->done || h->failed) return throw_errno(env, "sha256 digest while an update runs, twice or after a failure", EBUSY);
  h->done = true;
  char hex[64];
  if (!digest_hex(h->ctx, hex)) return throw_errno(env, "sha256 digest", EIO);
  napi_create_string_latin1(env, hex, 64, &result);
  return result;
}

// The one-shot and synchronous forms, for the small inputs a build hashes on its own thread
// (cache keys, configs, manifests, small layers): node:crypto is ~1.2 ms of every start to load.

// The bytes of a Uint8Array (a Buffer is one) argument, or a string's UTF-8 copied into *owned
// (freed by the caller).
static bool bytes_arg(napi_env env, napi_value v, const void **data, size_t *len, char **owned) {
  *owned = NULL;
  void *p;
  napi_typedarray_type type;
  size_t count, offset;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &type, &count, &p, &ab, &offset) == napi_ok) {
    if (type != napi_uint8_array) return false;
    *data = p;
    *len = count;
    return true;
  }
  if (napi_get_value_string_utf8(env, v, NULL, 0, len) != napi_ok) return false;
  if (!(*owned = malloc(*len + 1)) || napi_get_value_string_utf8(env, v, *owned, *len + 1, len) != napi_ok) {
    free(*owned);
    *owned = NULL;
    return false;
  }
  *data = *owned;
  return true;
}

// sha256Hex(bytes or string) → lowercase hex of its sha256 (a string as UTF-8), or null when
// OpenSSL's digest calls are not in the process.
static napi_value sha256_hex(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg, result;
  CHECK(napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  if (!have_evp()) {
    napi_get_null(env, &result);
    return result;
  }
  const void *data;
  size_t len;
  char *owned;
  if (argc < 1 || !bytes_arg(env, arg, &data, &len, &owned)) return throw_errno(env, "sha256Hex", EINVAL);
  EVP_MD_CTX *ctx = evp.ctx_new();
  char hex[64];
  bool ok = ctx && evp.init(ctx, evp.sha256(), NULL) == 1 && evp.update(ctx, data, len) == 1 && digest_hex(ctx, hex);
  if (ctx) evp.ctx_free(ctx);
  free(owned);
  if (!ok) return throw_errno(env, "sha256Hex", EIO);
  CHECK(napi_create_string_latin1(env, hex, 64, &result));
  return result;
}

// sha256UpdateSync(hasher, bytes): hashes the chunk on this thread, between thread-pool updates
// or instead of them.
static napi_value sha256_update_sync(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct hasher *h;
  const void *data;
  size_t len;
  char *owned;
  if (argc < 2 || napi_get_value_external(env, argv[0], (void **)&h) != napi_ok) return throw_errno(env, "sha256 update", EINVAL);
  if (h->busy || h->done) return throw_errno(env, "sha256 update while another runs or after the digest", EBUSY);
  if (!bytes_arg(env, argv[1], &data, &len, &owned)) return throw_errno(env, "sha256 update", EINVAL);
  if (evp.update(h->ctx, data, len) != 1) h->failed = true;
  free(owned);
  if (h->failed) return throw_errno(env, "sha256 update", EIO);
  return NULL;
}

// randomHex(bytes) → that many bytes from getrandom(2) as lowercase hex (temp names).
static napi_value random_hex(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg, result;
  CHECK(napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  uint32_t n = 0;
  if (argc < 1 || napi_get_value_uint32(env, arg, &n) != napi_ok || n == 0 || n > 64) return throw_errno(env, "randomHex", EINVAL);
  unsigned char bytes[64];
  for (size_t got = 0; got < n;) {
    ssize_t r = getrandom(bytes + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return throw_errno(env, "getrandom", errno);
    }
    got += (size_t)r;
  }
  char hex[128];
  hex_encode(bytes, n, hex);
  CHECK(napi_create_string_latin1(env, hex, 2 * n, &result));
  return result;
}

// Node-API's external latin1 strings (Node 20.4 on; experimental, so found when first used rather
// than linked: an addon loaded by an older Node still offers everything else).
typedef napi_status (*create_external_latin1_fn)(napi_env, char *, size_t, napi_finalize, void *, napi_value *, bool *);

static void unmap_file(napi_env env, void *data, void *hint) {
  munmap(data, (size_t)(uintptr_t)hint);
}

// mapFile(path, asString) → the regular file's bytes mapped read-only (MAP_PRIVATE): as an
// external latin1 string (the file must be ASCII or meant as latin1) or a Buffer; null when it is
// empty, not a regular file, or (a string) this Node has no external strings. The mapping lives as
// long as the value. The file must be replaced by rename, never rewritten in place, while mapped
// (a truncated mapping faults). Throws an Error with `errno` when it cannot be opened.
static napi_value map_file(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool as_string = false;
  if (argc < 2 || napi_get_value_bool(env, argv[1], &as_string) != napi_ok) return throw_errno(env, "mapFile", EINVAL);
  static create_external_latin1_fn create_latin1;
  static bool looked;
  if (as_string && !looked) {
    looked = true;
    create_latin1 = (create_external_latin1_fn)dlsym(RTLD_DEFAULT, "node_api_create_external_string_latin1");
  }
  napi_get_null(env, &result);
  if (as_string && !create_latin1) return result;
  char *path = string_arg(env, argv[0]);
  if (!path) return throw_errno(env, "mapFile", EINVAL);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  int err = errno;
  free(path);
  if (fd < 0) return throw_errno(env, "mapFile", err);
  struct stat st;
  void *mem = MAP_FAILED;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) mem = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (mem == MAP_FAILED) return result;
  size_t len = (size_t)st.st_size;
  napi_status status;
  if (as_string) {
    bool copied = false;
    status = create_latin1(env, mem, len, unmap_file, (void *)(uintptr_t)len, &result, &copied);
    if (status == napi_ok && copied) munmap(mem, len);
  } else {
    status = napi_create_external_buffer(env, len, mem, unmap_file, (void *)(uintptr_t)len, &result);
  }
  if (status != napi_ok) {
    munmap(mem, len);
    napi_get_null(env, &result);
  }
  return result;
}

// What Node's teardown would put back on the way out (node.cc, ResetStdio): the O_NONBLOCK flag
// and the terminal modes of fds 0-2 as they were at start (a stream Node made on one changes
// them, and the open file description is shared with the shell). saveStdio() notes them; bin/wharf.js
// calls it before anything of the CLI runs.
static struct {
  bool saved;
  struct {
    bool open, tty;
    dev_t dev;
    ino_t ino;
    int flags;
    struct termios modes;
  } fd[3];
} stdio_at_start;

// saveStdio() → true once fds 0-2 are noted.
static napi_value save_stdio(napi_env env, napi_callback_info info) {
  for (int fd = 0; fd < 3; fd++) {
    struct stat st;
    int flags = fcntl(fd, F_GETFL);
    stdio_at_start.fd[fd].open = flags != -1 && fstat(fd, &st) == 0;
    if (!stdio_at_start.fd[fd].open) continue;
    stdio_at_start.fd[fd].dev = st.st_dev;
    stdio_at_start.fd[fd].ino = st.st_ino;
    stdio_at_start.fd[fd].flags = flags;
    stdio_at_start.fd[fd].tty = isatty(fd) && tcgetattr(fd, &stdio_at_start.fd[fd].modes) == 0;
  }
  stdio_at_start.saved = true;
  napi_value result;
  napi_get_boolean(env, true, &result);
  return result;
}

static void restore_stdio(void) {
  // A background job that does not own its terminal would be stopped by SIGTTOU at tcsetattr.
  sigset_t ttou, old;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &ttou, &old);
  for (int fd = 0; fd < 3; fd++) {
    struct stat st;
    if (!stdio_at_start.fd[fd].open || fstat(fd, &st) != 0) continue;
    if (st.st_dev != stdio_at_start.fd[fd].dev || st.st_ino != stdio_at_start.fd[fd].ino) continue; // replaced since
    int flags = fcntl(fd, F_GETFL);
    if (flags != -1 && ((flags ^ stdio_at_start.fd[fd].flags) & O_NONBLOCK)) fcntl(fd, F_SETFL, (flags & ~O_NONBLOCK) | (stdio_at_start.fd[fd].flags & O_NONBLOCK));
    if (stdio_at_start.fd[fd].tty) {
      int r;
      do r = tcsetattr(fd, TCSANOW, &stdio_at_start.fd[fd].modes);
      while (r == -1 && errno == EINTR);
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

// exitNow(code): puts fds 0-2 back as saveStdio found them, then _exit(2), skipping the rest of
// Node's teardown (its platform threads, the heap, atexit handlers) once a command has finished
// and its 'exit' handlers ran: ~0.7 ms of every command. False, and nothing done, when saveStdio
// was not called.
static napi_value exit_now(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg, result;
  CHECK(napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  if (!stdio_at_start.saved) {
    napi_get_boolean(env, false, &result);
    return result;
  }
  int32_t code = 0;
  if (argc >= 1) napi_get_value_int32(env, arg, &code);
  restore_stdio();
  _exit(code & 0xff);
  return NULL;
}

// newNetNamespace() -> descriptor (O_CLOEXEC) of a new, empty network namespace. unshare(2) with
// CLONE_NEWNET moves only the calling thread, so a thread of its own does it, opens its namespace
// and ends; the descriptor keeps the namespace. Not a thread of the pool: those resolve host names
// (getaddrinfo), which must stay in the host's namespace. The thread starts with every signal
// blocked, so none of Node's is handled on it.
struct netns_job {
  int fd;
  int err;
};

static void *netns_thread(void *arg) {
  struct netns_job *job = arg;
  if (unshare(CLONE_NEWNET) != 0) {
    job->err = errno;
    return NULL;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%ld/ns/net", (long)syscall(SYS_gettid));
  job->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (job->fd < 0) job->err = errno;
  return NULL;
}

static napi_value new_net_namespace(napi_env env, napi_callback_info info) {
  (void)info;
  struct netns_job job = {-1, 0};
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t thread;
  int rc = pthread_create(&thread, NULL, netns_thread, &job);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) return throw_errno(env, "new network namespace", rc);
  pthread_join(thread, NULL);
  if (job.fd < 0) return throw_errno(env, "new network namespace", job.err);
  napi_value out;
  CHECK(napi_create_int32(env, job.fd, &out));
  return out;
}

// spawnDetached(argv): a process nobody waits for (the background sync at a build's end), started
// with posix_spawn (a vfork: ~0.3 ms, where Node's spawn forks its whole address space, 3-4 ms
// here). It gets a session of its own, /dev/null as stdin, stdout and stderr, no other descriptor
// and default signals; a thread of ours reaps it (libuv only waits for its own children), and if
// this process exits first, init does. Returns its pid; throws an Error with errno.
extern char **environ;

static void *reap_thread(void *arg) {
  pid_t pid = (pid_t)(intptr_t)arg;
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
  }
  return NULL;
}

/** argv from a JS array of 1 to 64 strings, NULL-terminated in `out`; false (nothing left allocated) otherwise. */
static bool argv_arg(napi_env env, napi_value arg, char *out[65]) {
  uint32_t n = 0;
  bool is_array = false;
  memset(out, 0, 65 * sizeof(char *));
  if (napi_is_array(env, arg, &is_array) != napi_ok || !is_array || napi_get_array_length(env, arg, &n) != napi_ok || n == 0 || n > 64) return false;
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    if (napi_get_element(env, arg, i, &v) != napi_ok || !(out[i] = string_arg(env, v))) {
      for (uint32_t j = 0; j < i; j++) free(out[j]);
      return false;
    }
  }
  return true;
}

static void free_argv(char *argv[65]) {
  for (int i = 0; argv[i]; i++) free(argv[i]);
}

/** Default signals and an empty mask in the child; `setsid` for a session of its own. */
static void spawn_attrs(posix_spawnattr_t *attr, bool setsid) {
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_init(attr);
  posix_spawnattr_setflags(attr, (setsid ? POSIX_SPAWN_SETSID : 0) | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setsigmask(attr, &none);
  posix_spawnattr_setsigdefault(attr, &all);
}

static napi_value spawn_detached(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  CHECK(napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  char *argv[65];
  if (argc < 1 || !argv_arg(env, arg, argv)) return throw_errno(env, "spawnDetached: argv", EINVAL);
  pid_t pid = -1;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  spawn_attrs(&attr, true);
  for (int fd = 0; fd < 3; fd++) posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", O_RDWR, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
  int err = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  free_argv(argv);
  if (err) return throw_errno(env, "spawnDetached", err);
  // The reaper starts with every signal blocked, so none of Node's is handled on it.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t ta;
  pthread_attr_init(&ta);
  pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
  pthread_t t;
  // Without a thread the child stays a zombie until this process exits (then init reaps it).
  (void)pthread_create(&t, &ta, reap_thread, (void *)(intptr_t)pid);
  pthread_attr_destroy(&ta);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  napi_value out;
  CHECK(napi_create_int32(env, pid, &out));
  return out;
}

// spawnPiped(argv, cwd): a long-lived helper (the launch server) started with posix_spawn, where
// Node's spawn forks its whole address space (~3.5 ms of the main thread here, beside the build's
// first file step). Its stdin and stdout are pipes, its stderr /dev/null; it keeps our session and
// process group (as Node's children do), gets default signals, an empty mask and no other
// descriptor. Returns [pid, stdin fd, stdout fd] (our ends, close-on-exec); the caller reaps it
// with reapChild. Throws an Error with errno.
static napi_value spawn_piped(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  CHECK(napi_get_cb_info(env, info, &argc, args, NULL, NULL));
  char *argv[65];
  if (argc < 2 || !argv_arg(env, args[0], argv)) return throw_errno(env, "spawnPiped: argv", EINVAL);
  char *cwd = string_arg(env, args[1]);
  int in[2] = {-1, -1}, out[2] = {-1, -1};
  int err = 0;
  if (!cwd) err = EINVAL;
  else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) err = errno;
  pid_t pid = -1;
  if (!err) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    spawn_attrs(&attr, false);
    // dup2 leaves the child's 0 and 1 without close-on-exec; everything above 2 is closed.
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_RDWR, 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    posix_spawn_file_actions_addchdir_np(&fa, cwd);
    err = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
  }
  free_argv(argv);
  free(cwd);
  // The child's ends are its own now (or nobody's).
  if (in[0] >= 0) close(in[0]);
  if (out[1] >= 0) close(out[1]);
  if (err) {
    if (in[1] >= 0) close(in[1]);
    if (out[0] >= 0) close(out[0]);
    return throw_errno(env, "spawnPiped", err);
  }
  napi_value result, v;
  CHECK(napi_create_array_with_length(env, 3, &result));
  CHECK(napi_create_int32(env, pid, &v));
  CHECK(napi_set_element(env, result, 0, v));
  CHECK(napi_create_int32(env, in[1], &v));
  CHECK(napi_set_element(env, result, 1, v));
  CHECK(napi_create_int32(env, out[0], &v));
  CHECK(napi_set_element(env, result, 2, v));
  return result;
}

// reapChild(pid): waitpid without waiting. undefined while it runs; [exit code, 0] or
// [-1, signal number] once it has ended (reaped: a second call throws ECHILD).
static napi_value reap_child(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  CHECK(napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  int32_t pid = 0;
  if (argc < 1 || napi_get_value_int32(env, arg, &pid) != napi_ok || pid <= 0) return throw_errno(env, "reapChild: pid", EINVAL);
  int status = 0;
  pid_t r;
  while ((r = waitpid(pid, &status, WNOHANG)) < 0 && errno == EINTR) {
  }
  if (r < 0) return throw_errno(env, "reapChild", errno);
  napi_value out;
  if (r == 0) {
    CHECK(napi_get_undefined(env, &out));
    return out;
  }
  napi_value code, sig;
  CHECK(napi_create_int32(env, WIFEXITED(status) ? WEXITSTATUS(status) : -1, &code));
  CHECK(napi_create_int32(env, WIFSIGNALED(status) ? WTERMSIG(status) : 0, &sig));
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_set_element(env, out, 0, code));
  CHECK(napi_set_element(env, out, 1, sig));
  return out;
}

static void free_aligned(napi_env env, void *data, void *hint) {
  int64_t ignored;
  napi_adjust_external_memory(env, -(int64_t)(intptr_t)hint, &ignored);
  free(data);
}

// alignedBuffer(size) → a Buffer of `size` bytes whose memory starts on a page boundary (Node's
// own Buffers are only malloc-aligned), for O_DIRECT. Not zeroed, like Buffer.allocUnsafe: a
// blob of 300 KB touches 300 KB of its 4 MB buffer, and fresh pages are what costs (page faults).
static napi_value aligned_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg, out;
  CHECK(napi_get_cb_info(env, info, &argc, &arg, NULL, NULL));
  int64_t size = 0;
  if (argc < 1 || napi_get_value_int64(env, arg, &size) != napi_ok || size <= 0 || size > (1 << 30)) return throw_errno(env, "alignedBuffer: size", EINVAL);
  void *mem = NULL;
  int err = posix_memalign(&mem, 4096, (size_t)size);
  if (err) return throw_errno(env, "alignedBuffer", err);
  if (napi_create_external_buffer(env, (size_t)size, mem, free_aligned, (void *)(intptr_t)size, &out) != napi_ok) {
    free(mem);
    return throw_errno(env, "alignedBuffer", ENOMEM);
  }
  // Counted as V8 counts Node's own Buffers, so collections come as often as they would for those.
  int64_t total;
  napi_adjust_external_memory(env, size, &total);
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"mountOverlay", NULL, mount_overlay, NULL, NULL, NULL, napi_default, NULL},
      {"umount", NULL, do_umount, NULL, NULL, NULL, napi_default, NULL},
      {"umountAsync", NULL, do_umount_async, NULL, NULL, NULL, napi_default, NULL},
      {"readTreeXattrs", NULL, read_tree_xattrs, NULL, NULL, NULL, napi_default, NULL},
      {"readFileXattrs", NULL, read_file_xattrs, NULL, NULL, NULL, napi_default, NULL},
      {"readDirStats", NULL, read_dir_stats, NULL, NULL, NULL, napi_default, NULL},
      {"readDirEntries", NULL, read_dir_entries, NULL, NULL, NULL, napi_default, NULL},
      {"sha256Create", NULL, sha256_create, NULL, NULL, NULL, napi_default, NULL},
      {"sha256Update", NULL, sha256_update, NULL, NULL, NULL, napi_default, NULL},
      {"sha256Digest", NULL, sha256_digest, NULL, NULL, NULL, napi_default, NULL},
      {"sha256Hex", NULL, sha256_hex, NULL, NULL, NULL, napi_default, NULL},
      {"sha256UpdateSync", NULL, sha256_update_sync, NULL, NULL, NULL, napi_default, NULL},
      {"randomHex", NULL, random_hex, NULL, NULL, NULL, napi_default, NULL},
      {"mapFile", NULL, map_file, NULL, NULL, NULL, napi_default, NULL},
      {"saveStdio", NULL, save_stdio, NULL, NULL, NULL, napi_default, NULL},
      {"exitNow", NULL, exit_now, NULL, NULL, NULL, napi_default, NULL},
      {"newNetNamespace", NULL, new_net_namespace, NULL, NULL, NULL, napi_default, NULL},
      {"spawnDetached", NULL, spawn_detached, NULL, NULL, NULL, napi_default, NULL},
      {"spawnPiped", NULL, spawn_piped, NULL, NULL, NULL, napi_default, NULL},
      {"reapChild", NULL, reap_child, NULL, NULL, NULL, napi_default, NULL},
      {"alignedBuffer", NULL, aligned_buffer, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(wharf_native, init)
