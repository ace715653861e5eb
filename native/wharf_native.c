// The three system calls a build step needs that Node has no API for: mount(2) of an overlay,
// umount2(2), and reading a tree's extended attributes. Without this addon each is a child process
// (mount, umount, getfattr: ~2.5 ms each, three per step); see src/util/native.ts for the fallback.
//
// Built by `npm run build` (scripts/build-native.mjs) with the system C compiler against Node's
// own headers; Node-API only, so one build serves every Node version of the machine.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define CHECK(call)                                                                               \
  do {                                                                                            \
    if ((call) != napi_ok) return NULL;                                                           \
  } while (0)

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, message, error;
  napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, NULL, message, &error);
  napi_value errno_value;
  napi_create_int32(env, err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_throw(env, error);
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

// readTreeXattrs(dir) → [rel, name, value, ...]; rel is '' for dir itself.
static napi_value read_tree_xattrs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct walk *w = calloc(1, sizeof *w);
  if (!w) return throw_errno(env, "read xattrs", ENOMEM);
  w->env = env;
  size_t len;
  if (napi_get_value_string_utf8(env, argv[0], w->path, sizeof w->path, &len) != napi_ok || len + 1 >= sizeof w->path) {
    free(w);
    return throw_errno(env, "read xattrs", ENAMETOOLONG);
  }
  w->root_len = len;
  napi_create_array(env, &w->out);
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

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"mountOverlay", NULL, mount_overlay, NULL, NULL, NULL, napi_default, NULL},
      {"umount", NULL, do_umount, NULL, NULL, NULL, napi_default, NULL},
      {"readTreeXattrs", NULL, read_tree_xattrs, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(wharf_native, init)
