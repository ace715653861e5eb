/*
 * wharf-container: runs one RUN step's process in a container set up from a plan file that wharf
 * wrote from the step's OCI config (src/runtime/container-plan.ts), the same config crun and runc
 * get. Only what that config asks is done, with nothing of a runtime's state, hooks or console:
 * crun spends ~9 ms a step on a general runtime's work (its state dir, the config's JSON, a
 * second process to sync with), this ~3 ms.
 *
 *   wharf-container PLAN_FILE
 *   wharf-container --serve      (many, one after another or at once: see serve() below)
 *
 * The plan is a list of NUL-terminated fields: a directive's name, then its fixed fields (`env`
 * and `args` give their count first). Directives, in the order they apply:
 *   cgroup TASKS_FILE            join this v1 cgroup (written before the namespaces are made)
 *   netns PATH                   join this network namespace; `newnet` makes one with loopback up
 *   rootfs PATH  hostname NAME
 *   mount SOURCE DEST TYPE FLAGS PROPAGATION DATA   (FLAGS, PROPAGATION: MS_* numbers)
 *   mask PATH  readonly PATH     Docker's masked and read-only paths
 *   rlimit NAME SOFT HARD        (RLIMIT_* name; -1 is unlimited)
 *   user UID GID  group GID      caps BOUNDING EFFECTIVE PERMITTED INHERITABLE (hex masks)
 *   nonewprivs  seccomp BPF_FILE  cwd PATH  env N KEY=VALUE...  args N ARG...
 *
 * Every destination in the rootfs is resolved with openat2(RESOLVE_IN_ROOT): the rootfs is the
 * image's content, and a symlink there must never lead a mount out of it. A `cgroup` mount is
 * cgroupfs as runc and crun lay it out on a v1 host: a tmpfs holding each hierarchy of the step's
 * cgroup namespace. Device nodes and /dev's symlinks are made after the mounts, as runc does.
 *
 * The launcher process stays outside the container: it forks the container's init (pid 1 of a
 * new pid namespace), waits for it and exits with its status (128+n for signal n). SIGTERM, SIGINT
 * and SIGHUP to it kill the container; its own death kills the container too (PR_SET_PDEATHSIG),
 * and with pid 1 dies everything else in the container.
 *
 * Failures to set up print "wharf-container: ..." on stderr and exit 125; a program that cannot
 * be executed exits 126, one that is not found 127 (as runc's and Docker's shells).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <grp.h>
#include <poll.h>
#include <unistd.h>

#define MAX_PLAN (1 << 20)
#define MAX_FIELDS 8192

/* In the container's init before its exec: where a setup failure is told (a close-on-exec pipe). */
static int error_fd = -1;
static const char *plan_path;

/*
 * A setup failure: said on stderr and in PLAN_FILE.failed, which tells wharf that the step's
 * program never ran (its exit status cannot: any status may be the program's own).
 */
static void fail_with(const char *message) {
  if (error_fd >= 0) {
    ssize_t ignored = write(error_fd, message, strlen(message));
    (void)ignored;
    _exit(125);
  }
  fputs(message, stderr);
  char failed[PATH_MAX];
  snprintf(failed, sizeof failed, "%s.failed", plan_path ? plan_path : "");
  int fd = plan_path ? open(failed, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
  if (fd >= 0) {
    ssize_t ignored = write(fd, message, strlen(message));
    (void)ignored;
    close(fd);
  }
  _exit(125);
}

static int die(const char *what, const char *arg) {
  char message[PATH_MAX + 512];
  snprintf(message, sizeof message, "wharf-container: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "", strerror(errno));
  fail_with(message);
  return 125;
}

static int die_plain(const char *what, const char *arg) {
  char message[PATH_MAX + 512];
  snprintf(message, sizeof message, "wharf-container: %s%s%s\n", what, arg ? " " : "", arg ? arg : "");
  fail_with(message);
  return 125;
}

/* ---- the plan ---- */

static char *fields[MAX_FIELDS];
static int nfields;

static void read_plan(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) die("open plan", path);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_PLAN) die_plain("plan is not a regular file of at most 1 MiB:", path);
  char *buf = malloc(st.st_size + 1);
  if (!buf) die("malloc", NULL);
  ssize_t got = 0;
  while (got < st.st_size) {
    ssize_t n = read(fd, buf + got, st.st_size - got);
    if (n <= 0) die("read plan", path);
    got += n;
  }
  close(fd);
  if (got == 0 || buf[got - 1] != '\0') die_plain("plan does not end with a NUL:", path);
  for (char *p = buf; p < buf + got; p += strlen(p) + 1) {
    if (nfields == MAX_FIELDS) die_plain("plan has too many fields:", path);
    fields[nfields++] = p;
  }
}

/* The fields of the directive at fields[i] (its name included) when it has `n` fields after it. */
static char **directive(int i, int n) {
  if (i + n >= nfields) die_plain("plan directive cut short:", fields[i]);
  return fields + i;
}

static long long number(const char *s, int base) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, base);
  if (errno || *s == '\0' || *end != '\0') die_plain("plan has a bad number:", s);
  return v;
}

/* How many fields follow directive `name` (counted directives: the count's own field). */
static int arity(const char *name) {
  static const struct { const char *name; int n; } table[] = {
    { "cgroup", 1 }, { "netns", 1 }, { "newnet", 0 }, { "rootfs", 1 }, { "hostname", 1 }, { "mount", 6 },
    { "mask", 1 }, { "readonly", 1 }, { "rlimit", 3 }, { "user", 2 }, { "group", 1 }, { "caps", 4 },
    { "nonewprivs", 0 }, { "seccomp", 1 }, { "cwd", 1 }, { "env", -1 }, { "args", -1 },
  };
  for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
    if (strcmp(table[k].name, name) == 0) return table[k].n;
  die_plain("plan has an unknown directive:", name);
  return 0;
}

/* The directive at fields[i]: its name, fields and their count; returns the next one's index, -1 at the end. */
static int next_directive(int i, const char **name, char ***args, int *count) {
  if (i >= nfields) return -1;
  *name = fields[i];
  int n = arity(fields[i]);
  if (n < 0) {
    if (i + 1 >= nfields) die_plain("plan directive cut short:", fields[i]);
    long long c = number(fields[i + 1], 10);
    if (c < 0 || c > MAX_FIELDS) die_plain("plan has a bad count:", fields[i + 1]);
    *args = directive(i + 1, (int)c) + 1;
    *count = (int)c;
    return i + 2 + (int)c;
  }
  *args = directive(i, n) + 1;
  *count = n;
  return i + 1 + n;
}

/* ---- paths in the rootfs ---- */

static int rootfd = -1;

/* An O_PATH descriptor of `path` resolved inside the rootfs (symlinks included); -1 with errno. */
static int in_root(const char *path) {
  struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/*
 * Makes `path` in the rootfs when it is missing, as runc and crun make a mount point or the
 * working directory: its missing parents as directories, itself as a directory or an empty file.
 * Each component is made in its parent as resolved in the root. A symlink whose target is missing
 * is followed as the root sees it (an absolute or `..` target stays in the root), and the target is
 * made instead, as runc does; `depth` counts the links followed (40 at most, as the kernel's).
 */
static void ensure_path_at(const char *path, int as_dir, int depth) {
  char buf[PATH_MAX];
  if (depth > 40) {
    errno = ELOOP;
    die("make mount point", path);
  }
  if (strlen(path) >= sizeof buf) die_plain("path too long:", path);
  strcpy(buf, path);
  size_t len = strlen(buf);
  for (size_t end = 1; end <= len; end++) {
    if (end < len && buf[end] != '/') continue;
    if (buf[end - 1] == '/') continue; /* an empty component */
    char saved = buf[end];
    buf[end] = '\0';
    int fd = in_root(buf);
    if (fd >= 0) {
      close(fd);
      buf[end] = saved;
      continue;
    }
    if (errno != ENOENT) die("open in rootfs", buf);
    char *slash = strrchr(buf, '/');
    const char *name = slash + 1;
    int parent;
    if (slash == buf) parent = dup(rootfd);
    else {
      *slash = '\0';
      parent = in_root(buf);
      *slash = '/';
    }
    if (parent < 0) die("open in rootfs", buf);
    char target[PATH_MAX];
    ssize_t n = readlinkat(parent, name, target, sizeof target - 1);
    if (n >= 0) {
      /* A dangling link: make what it names, with the rest of the path below it. */
      target[n] = '\0';
      char next[PATH_MAX];
      int w;
      if (target[0] == '/') w = snprintf(next, sizeof next, "%s%s%s", target, saved ? "/" : "", saved ? buf + end + 1 : "");
      else {
        *slash = '\0';
        w = snprintf(next, sizeof next, "%s/%s%s%s", buf, target, saved ? "/" : "", saved ? buf + end + 1 : "");
        *slash = '/';
      }
      if (w < 0 || (size_t)w >= sizeof next) die_plain("path too long:", path);
      close(parent);
      ensure_path_at(next, as_dir, depth + 1);
      return;
    }
    int r;
    if (saved || as_dir) r = mkdirat(parent, name, 0755);
    else {
      r = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (r >= 0) r = close(r);
    }
    if (r != 0) die("make mount point", buf);
    close(parent);
    buf[end] = saved;
  }
}

static void ensure_path(const char *path, int as_dir) {
  ensure_path_at(path, as_dir, 0);
}

static const char *fd_path(int fd, char buf[64]) {
  snprintf(buf, 64, "/proc/self/fd/%d", fd);
  return buf;
}

/* Sets mount attributes on the mount at `fd`, and on every mount below it when `recursive`. */
static int set_attrs(int fd, unsigned long flags, int recursive) {
  struct mount_attr attr = { 0 };
  if (flags & MS_RDONLY) attr.attr_set |= MOUNT_ATTR_RDONLY;
  if (flags & MS_NOSUID) attr.attr_set |= MOUNT_ATTR_NOSUID;
  if (flags & MS_NODEV) attr.attr_set |= MOUNT_ATTR_NODEV;
  if (flags & MS_NOEXEC) attr.attr_set |= MOUNT_ATTR_NOEXEC;
  if (!attr.attr_set) return 0;
  return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr);
}

/* A fresh descriptor of `dest` in the rootfs: of the mount now on top of it, if any. */
static int reopen(const char *dest) {
  int fd = in_root(dest);
  if (fd < 0) die("open in rootfs", dest);
  return fd;
}

/* cgroupfs as runc and crun lay it out on a v1 host: a tmpfs with each hierarchy of /proc/self/cgroup. */
static void mount_cgroupfs(const char *dest, unsigned long flags) {
  char p[64];
  ensure_path(dest, 1);
  int fd = reopen(dest);
  if (mount("tmpfs", fd_path(fd, p), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=1024k") != 0) die("mount tmpfs on", dest);
  close(fd);
  int top = reopen(dest);
  FILE *f = fopen("/proc/self/cgroup", "re");
  if (!f) die("open", "/proc/self/cgroup");
  char line[4096];
  while (fgets(line, sizeof line, f)) {
    char *controllers = strchr(line, ':');
    char *rest = controllers ? strchr(controllers + 1, ':') : NULL;
    if (!rest) continue;
    *rest = '\0';
    controllers++;
    if (*controllers == '\0') continue; /* the v2 hierarchy of a hybrid host: not shown, as crun does */
    const char *name = strncmp(controllers, "name=", 5) == 0 ? controllers + 5 : controllers;
    if (strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) continue;
    if (mkdirat(top, name, 0755) != 0 && errno != EEXIST) die("mkdir cgroup", name);
    int sub = openat(top, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) die("open cgroup dir", name);
    char data[4200];
    snprintf(data, sizeof data, "%s%s", name == controllers ? "" : "none,", controllers);
    if (mount("cgroup", fd_path(sub, p), "cgroup", (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)) | MS_RELATIME, data) != 0)
      die("mount cgroup", controllers);
    close(sub);
    /* cpu,cpuacct is also reachable as cpu and as cpuacct */
    if (name == controllers && strchr(name, ',')) {
      char copy[4096];
      snprintf(copy, sizeof copy, "%s", name);
      for (char *c = strtok(copy, ","); c; c = strtok(NULL, ",")) {
        if (symlinkat(name, top, c) != 0 && errno != EEXIST) die("symlink cgroup", c);
      }
    }
  }
  fclose(f);
  if ((flags & MS_RDONLY) && set_attrs(top, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, 0) != 0) die("make read-only", dest);
  close(top);
}

static void do_mount(char **a) {
  const char *source = a[0], *dest = a[1], *type = a[2], *data = a[5];
  unsigned long flags = (unsigned long)number(a[3], 10), propagation = (unsigned long)number(a[4], 10);
  char p[64];
  if (strcmp(type, "cgroup") == 0) {
    mount_cgroupfs(dest, flags);
    return;
  }
  if (!(flags & MS_REMOUNT)) {
    struct stat st;
    ensure_path(dest, !(flags & MS_BIND) || (stat(source, &st) == 0 && S_ISDIR(st.st_mode)));
  }
  int fd = reopen(dest);
  if (flags & MS_REMOUNT) {
    if (set_attrs(fd, flags, 0) != 0) die("remount", dest);
  } else if (flags & MS_BIND) {
    if (mount(source, fd_path(fd, p), NULL, MS_BIND | (flags & MS_REC), NULL) != 0) die("bind mount on", dest);
    close(fd);
    fd = reopen(dest);
    if (set_attrs(fd, flags, (flags & MS_REC) != 0) != 0) die("set mount flags of", dest);
  } else if (mount(source, fd_path(fd, p), type, flags, *data ? data : NULL) != 0) {
    die("mount on", dest);
  }
  if (propagation) {
    close(fd);
    fd = reopen(dest);
    if (mount(NULL, fd_path(fd, p), NULL, propagation, NULL) != 0) die("set propagation of", dest);
  }
  close(fd);
}

/* `path` in the rootfs, or -1 when it is not there (a masked or read-only path this kernel lacks). */
static int open_if_there(const char *path) {
  int fd = in_root(path);
  if (fd < 0 && errno != ENOENT) die("open in rootfs", path);
  return fd;
}

/* Docker's masked paths: an empty read-only tmpfs over a dir, /dev/null over anything else. */
static void mask(const char *path) {
  int fd = open_if_there(path);
  if (fd < 0) return;
  struct stat st;
  char p[64];
  if (fstat(fd, &st) != 0) die("stat", path);
  int r = S_ISDIR(st.st_mode) ? mount("tmpfs", fd_path(fd, p), "tmpfs", MS_RDONLY, "size=0k")
                              : mount("/dev/null", fd_path(fd, p), NULL, MS_BIND, NULL);
  if (r != 0) die("mask", path);
  close(fd);
  fd = reopen(path);
  if (set_attrs(fd, MS_RDONLY, 0) != 0) die("make read-only", path);
  close(fd);
}

/* Docker's read-only paths: a recursive bind of the path over itself, made read-only. */
static void make_readonly(const char *path) {
  int fd = open_if_there(path);
  if (fd < 0) return;
  char p[64];
  if (mount(fd_path(fd, p), fd_path(fd, p), NULL, MS_BIND | MS_REC, NULL) != 0) die("bind", path);
  close(fd);
  fd = reopen(path);
  if (set_attrs(fd, MS_RDONLY, 1) != 0) die("make read-only", path);
  close(fd);
}

/* The device nodes and links Docker gives every container, on the container's own /dev tmpfs. */
static void make_devices(void) {
  static const struct { const char *name; int major, minor; } nodes[] = {
    { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
  };
  static const char *links[][2] = {
    { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" }, { "/proc/self/fd/1", "stdout" },
    { "/proc/self/fd/2", "stderr" }, { "pts/ptmx", "ptmx" }, { "/proc/kcore", "core" },
  };
  int dev = in_root("/dev");
  if (dev < 0) die("open in rootfs", "/dev");
  char p[64];
  int dir = open(fd_path(dev, p), O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) die("open", "/dev");
  close(dev);
  mode_t old = umask(0);
  for (size_t k = 0; k < sizeof nodes / sizeof nodes[0]; k++) {
    if (mknodat(dir, nodes[k].name, S_IFCHR | 0666, makedev(nodes[k].major, nodes[k].minor)) != 0 && errno != EEXIST)
      die("mknod /dev/", nodes[k].name);
  }
  umask(old);
  for (size_t k = 0; k < sizeof links / sizeof links[0]; k++) {
    if (symlinkat(links[k][0], dir, links[k][1]) != 0 && errno != EEXIST) die("symlink /dev/", links[k][1]);
  }
  close(dir);
}

static void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket", NULL);
  struct ifreq ifr = { 0 };
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) die("get flags of", "lo");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) die("bring up", "lo");
  close(s);
}

static int rlimit_resource(const char *name) {
  static const struct { const char *name; int resource; } table[] = {
    { "RLIMIT_AS", RLIMIT_AS }, { "RLIMIT_CORE", RLIMIT_CORE }, { "RLIMIT_CPU", RLIMIT_CPU }, { "RLIMIT_DATA", RLIMIT_DATA },
    { "RLIMIT_FSIZE", RLIMIT_FSIZE }, { "RLIMIT_LOCKS", RLIMIT_LOCKS }, { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },
    { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE }, { "RLIMIT_NOFILE", RLIMIT_NOFILE },
    { "RLIMIT_NPROC", RLIMIT_NPROC }, { "RLIMIT_RSS", RLIMIT_RSS }, { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },
    { "RLIMIT_RTTIME", RLIMIT_RTTIME }, { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
  };
  for (size_t k = 0; k < sizeof table / sizeof table[0]; k++)
    if (strcmp(table[k].name, name) == 0) return table[k].resource;
  die_plain("plan has an unknown rlimit:", name);
  return -1;
}

static rlim_t limit_value(const char *s) {
  return strcmp(s, "-1") == 0 ? RLIM_INFINITY : (rlim_t)strtoull(s, NULL, 10);
}

/* ---- the container's init, before it becomes the step's program ---- */

static pid_t child_pid;

static void forward(int sig) {
  (void)sig;
  if (child_pid > 0) kill(child_pid, SIGKILL);
}

static void setup_and_exec(int unshare_flags) {
  const char *name;
  char **a;
  int n;
  /* Until the step's credentials are set: the container dies with the launcher. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (unshare(unshare_flags) != 0) die("unshare", "namespaces");
  if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0) die("make mounts slave", NULL);

  const char *cwd = "/", *bpf_file = NULL;
  char **env = NULL, **args = NULL;
  int nargs = 0, nenv = 0, nonewprivs = 0, have_user = 0, ngroups = 0;
  uid_t uid = 0;
  gid_t gid = 0, groups[256];
  unsigned long long caps[4] = { 0 };
  int have_caps = 0;

  for (int i = 0; (i = next_directive(i, &name, &a, &n)) >= 0;) {
    if (strcmp(name, "rootfs") == 0) {
      if (mount(a[0], a[0], NULL, MS_BIND | MS_REC, NULL) != 0) die("bind rootfs", a[0]);
      rootfd = open(a[0], O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (rootfd < 0) die("open rootfs", a[0]);
    } else if (strcmp(name, "hostname") == 0) {
      if (sethostname(a[0], strlen(a[0])) != 0) die("sethostname", a[0]);
    } else if (strcmp(name, "newnet") == 0) {
      loopback_up();
    } else if (strcmp(name, "mount") == 0) {
      if (rootfd < 0) die_plain("plan mounts before its rootfs:", name);
      do_mount(a);
    } else if (strcmp(name, "rlimit") == 0) {
      struct rlimit rl = { limit_value(a[1]), limit_value(a[2]) };
      if (setrlimit(rlimit_resource(a[0]), &rl) != 0) die("setrlimit", a[0]);
    } else if (strcmp(name, "user") == 0) {
      uid = (uid_t)number(a[0], 10);
      gid = (gid_t)number(a[1], 10);
      have_user = 1;
    } else if (strcmp(name, "group") == 0) {
      if (ngroups == 256) die_plain("too many groups", NULL);
      groups[ngroups++] = (gid_t)number(a[0], 10);
    } else if (strcmp(name, "caps") == 0) {
      for (int k = 0; k < 4; k++) caps[k] = (unsigned long long)number(a[k], 16);
      have_caps = 1;
    } else if (strcmp(name, "nonewprivs") == 0) {
      nonewprivs = 1;
    } else if (strcmp(name, "seccomp") == 0) {
      bpf_file = a[0];
    } else if (strcmp(name, "cwd") == 0) {
      cwd = a[0];
    } else if (strcmp(name, "env") == 0) {
      env = a;
      nenv = n;
    } else if (strcmp(name, "args") == 0) {
      args = a;
      nargs = n;
    }
  }
  if (rootfd < 0 || !args || nargs == 0 || !have_user || !have_caps) die_plain("plan lacks rootfs, args, user or caps", NULL);

  /* After every mount, as runc: the devices on the /dev tmpfs, then masked and read-only paths. */
  make_devices();
  ensure_path(cwd, 1);
  for (int i = 0; (i = next_directive(i, &name, &a, &n)) >= 0;) {
    if (strcmp(name, "mask") == 0) mask(a[0]);
    else if (strcmp(name, "readonly") == 0) make_readonly(a[0]);
  }

  /* The seccomp filter is read before the root changes (its file is in the bundle). */
  struct sock_fprog prog = { 0 };
  if (bpf_file) {
    int fd = open(bpf_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) die("open seccomp filter", bpf_file);
    if (!S_ISREG(st.st_mode) || st.st_size == 0 || st.st_size % sizeof(struct sock_filter) != 0 || st.st_size > 4096 * 8)
      die_plain("not a seccomp filter:", bpf_file);
    prog.filter = malloc(st.st_size);
    if (!prog.filter || read(fd, prog.filter, st.st_size) != st.st_size) die("read seccomp filter", bpf_file);
    prog.len = st.st_size / sizeof(struct sock_filter);
    close(fd);
  }

  if (fchdir(rootfd) != 0) die("chdir", "rootfs");
  if (syscall(SYS_pivot_root, ".", ".") != 0) die("pivot_root", NULL);
  if (umount2(".", MNT_DETACH) != 0) die("umount old root", NULL);
  if (chdir("/") != 0) die("chdir", "/");
  close(rootfd);

  /* The bounding set first: dropping from it needs CAP_SETPCAP, which the step may not keep. */
  for (int cap = 0; cap <= 63; cap++) {
    if (caps[0] & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      if (errno == EINVAL) break; /* past the kernel's last capability */
      die("drop capability", NULL);
    }
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) die("clear ambient capabilities", NULL);
  if (prctl(PR_SET_KEEPCAPS, 1) != 0) die("keep capabilities", NULL);
  if (setgroups(ngroups, groups) != 0) die("setgroups", NULL);
  if (setresgid(gid, gid, gid) != 0) die("setgid", NULL);
  if (setresuid(uid, uid, uid) != 0) die("setuid", NULL);
  if (prctl(PR_SET_KEEPCAPS, 0) != 0) die("keep capabilities", NULL);
  struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2];
  for (int k = 0; k < 2; k++) {
    data[k].effective = (uint32_t)(caps[1] >> (32 * k));
    data[k].permitted = (uint32_t)(caps[2] >> (32 * k));
    data[k].inheritable = (uint32_t)(caps[3] >> (32 * k));
  }
  if (syscall(SYS_capset, &hdr, data) != 0) die("capset", NULL);
  /* The pdeath signal is cleared by the change of credentials: set it again. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);

  if (chdir(cwd) != 0) die("chdir to the working directory", cwd);
  if (nonewprivs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("no_new_privs", NULL);

  char **argv = calloc(nargs + 1, sizeof *argv);
  char **envp = calloc(nenv + 1, sizeof *envp);
  if (!argv || !envp) die("calloc", NULL);
  memcpy(argv, args, nargs * sizeof *argv);
  if (env) memcpy(envp, env, nenv * sizeof *envp);
  extern char **environ;
  environ = envp; /* execvp looks args[0] up in the step's PATH */
  /* Close-on-exec, not closed: the report pipe must stay open until the exec. */
  if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) die("close descriptors", NULL);
  if (bpf_file && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) die("load seccomp filter", NULL);
  execvp(argv[0], argv);
  int missing = errno == ENOENT;
  fprintf(stderr, "wharf-container: exec %s: %s\n", argv[0], strerror(errno));
  _exit(missing ? 127 : 126);
}

/* ---- the launcher: one container from one plan ---- */

static int launch(const char *plan) {
  plan_path = plan;
  read_plan(plan);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP, joined_net = 0, new_net = 0;
  const char *name;
  char **a;
  int n;
  /* What the launcher does itself, before the container's init exists: cgroups, network. */
  for (int i = 0; (i = next_directive(i, &name, &a, &n)) >= 0;) {
    if (strcmp(name, "cgroup") == 0) {
      int fd = open(a[0], O_WRONLY | O_CLOEXEC);
      if (fd < 0) die("open", a[0]);
      if (write(fd, "0\n", 2) != 2) die("join cgroup", a[0]);
      close(fd);
    } else if (strcmp(name, "netns") == 0) {
      int fd = open(a[0], O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) die("join network namespace", a[0]);
      close(fd);
      joined_net = 1;
    } else if (strcmp(name, "newnet") == 0) {
      new_net = 1;
    }
  }
  if (joined_net && new_net) die_plain("plan both joins and makes a network namespace", NULL);
  if (new_net) flags |= CLONE_NEWNET;
  if (unshare(CLONE_NEWPID) != 0) die("unshare", "CLONE_NEWPID");

  struct sigaction sa = { 0 };
  sa.sa_handler = forward;
  sigemptyset(&sa.sa_mask);
  for (int s = 0, sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT }; s < 4; s++) sigaction(sigs[s], &sa, NULL);
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) die("pipe", NULL);
  child_pid = fork();
  if (child_pid < 0) die("fork", NULL);
  if (child_pid == 0) {
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    close(report[0]);
    error_fd = report[1];
    setup_and_exec(flags);
  }
  close(report[1]);
  /* Empty at the exec of the step's program (the pipe is close-on-exec), else why the setup failed. */
  char message[PATH_MAX + 512];
  size_t got = 0;
  for (;;) {
    ssize_t r = read(report[0], message + got, sizeof message - 1 - got);
    if (r > 0 && (got += r) < sizeof message - 1) continue;
    if (r < 0 && errno == EINTR) continue;
    break;
  }
  close(report[0]);
  int status;
  while (waitpid(child_pid, &status, 0) < 0) {
    if (errno != EINTR) die("wait", NULL);
  }
  if (got > 0) {
    message[got] = '\0';
    fail_with(message);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

/*
 * ---- serve: many launchers forked from one process ----
 *
 *   wharf-container --serve
 *
 * wharf starts one per build and hands it each RUN: Node's spawn of a launcher (the JavaScript
 * side of a child process, two pipes, the fork of a large process and the exec) was ~2 ms of every
 * RUN, a fork of this small process is ~0.1. Each launcher is a fork running launch() exactly as
 * `wharf-container PLAN_FILE` would, with its stdout and stderr on pipes this process relays.
 *
 * Commands on stdin, one per line:  run ID PLAN_FILE   kill ID   (kill: SIGTERM to its launcher,
 * which kills its container). On stdout, frames:  out ID LEN\n<LEN bytes>  err ID LEN\n<LEN bytes>
 * and, once the launcher is reaped and both its pipes are drained,  exit ID STATUS\n  (STATUS as
 * the launcher's exit code, 128+n for signal n). At the end of stdin every launcher is told to end
 * (SIGTERM) and the server exits when all are reaped. It dies with wharf (PR_SET_PDEATHSIG), and
 * its launchers die with it.
 */
#define MAX_JOBS 256
#define MAX_ID 64

struct job {
  char id[MAX_ID + 1];
  pid_t pid;
  int fds[2]; /* stdout, stderr; -1 once drained */
  int status; /* -1 until reaped */
};

static struct job jobs[MAX_JOBS];
static int reaped_pipe[2] = { -1, -1 };

static void on_child(int sig) {
  (void)sig;
  int saved = errno;
  ssize_t ignored = write(reaped_pipe[1], "c", 1);
  (void)ignored;
  errno = saved;
}

static void write_all(const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(1, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(1); /* wharf stopped reading: it is gone */
    p += w;
    len -= (size_t)w;
  }
}

static struct job *job_by_id(const char *id) {
  for (int i = 0; i < MAX_JOBS; i++)
    if (jobs[i].pid > 0 && strcmp(jobs[i].id, id) == 0) return &jobs[i];
  return NULL;
}

static void start_job(const char *id, const char *plan) {
  char line[MAX_ID + 64];
  struct job *j = NULL;
  for (int i = 0; i < MAX_JOBS && !j; i++)
    if (jobs[i].pid == 0) j = &jobs[i];
  int out[2] = { -1, -1 }, err[2] = { -1, -1 };
  pid_t pid = -1;
  if (j && strlen(id) <= MAX_ID && !job_by_id(id) && pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0) pid = fork();
  if (pid == 0) {
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) _exit(125);
    /* Nothing of the server's (its pipes to wharf, other launchers' pipes) reaches the container. */
#ifdef SYS_close_range
    if (syscall(SYS_close_range, 3, ~0U, 0) != 0)
#endif
      for (int fd = 3; fd < 1024; fd++) close(fd);
    _exit(launch(plan));
  }
  if (pid < 0) {
    /* Said as a launch that failed: 125, with the reason where a launcher's own setup failure goes. */
    const char *why = !j ? "too many containers at once" : strlen(id) > MAX_ID || job_by_id(id) ? "a bad container id" : strerror(errno);
    char message[256];
    int len = snprintf(message, sizeof message, "wharf-container: cannot start a launcher: %s\n", why);
    snprintf(line, sizeof line, "err %.*s %d\n", MAX_ID, id, len);
    write_all(line, strlen(line));
    write_all(message, (size_t)len);
    snprintf(line, sizeof line, "exit %.*s 125\n", MAX_ID, id);
    write_all(line, strlen(line));
    for (int k = 0; k < 2; k++) {
      if (out[k] >= 0) close(out[k]);
      if (err[k] >= 0) close(err[k]);
    }
    return;
  }
  close(out[1]);
  close(err[1]);
  snprintf(j->id, sizeof j->id, "%s", id);
  j->pid = pid;
  j->fds[0] = out[0];
  j->fds[1] = err[0];
  j->status = -1;
}

static void command(char *line) {
  char *verb = strtok(line, " ");
  char *id = strtok(NULL, " ");
  char *rest = strtok(NULL, "");
  if (!verb || !id) return;
  if (strcmp(verb, "run") == 0 && rest) start_job(id, rest);
  else if (strcmp(verb, "kill") == 0) {
    struct job *j = job_by_id(id);
    if (j && j->status < 0) kill(j->pid, SIGTERM);
  }
}

/*
 * Every signal's disposition back to the default, as the launchers and their containers must
 * start: an ignored signal stays ignored across exec, and wharf starts the server with
 * posix_spawn, whose reset (POSIX_SPAWN_SETSIGDEF) leaves out glibc's own two signals (32 and 33)
 * whatever the process that started wharf ignored. SIG_DFL with no flags and an empty mask is an
 * all-zero kernel sigaction, whatever its layout.
 */
static void default_signals(void) {
  uint64_t none[4] = { 0 };
  for (int s = 1; s <= 64; s++)
    if (s != SIGKILL && s != SIGSTOP) syscall(SYS_rt_sigaction, s, none, NULL, 8);
}

static int serve(void) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 1; /* wharf died before the line above */
  default_signals();
  signal(SIGPIPE, SIG_IGN);
  if (pipe2(reaped_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return 1;
  struct sigaction sa = { 0 };
  sa.sa_handler = on_child;
  sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGCHLD, &sa, NULL);
  static char in[65536];
  static char buf[65536];
  size_t have = 0;
  int open_in = 1;
  for (;;) {
    struct pollfd p[2 + 2 * MAX_JOBS];
    struct { struct job *j; int k; } who[2 + 2 * MAX_JOBS];
    int n = 0, live = 0;
    if (open_in) p[n++] = (struct pollfd){ .fd = 0, .events = POLLIN };
    p[n++] = (struct pollfd){ .fd = reaped_pipe[0], .events = POLLIN };
    for (int i = 0; i < MAX_JOBS; i++) {
      if (jobs[i].pid == 0) continue;
      live++;
      for (int k = 0; k < 2; k++)
        if (jobs[i].fds[k] >= 0) {
          who[n].j = &jobs[i];
          who[n].k = k;
          p[n++] = (struct pollfd){ .fd = jobs[i].fds[k], .events = POLLIN };
        }
    }
    if (!open_in && live == 0) return 0;
    if (poll(p, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    for (int x = 0; x < n; x++) {
      if (!p[x].revents) continue;
      if (p[x].fd == 0 && open_in) {
        ssize_t r = read(0, in + have, sizeof in - 1 - have);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
          open_in = 0; /* wharf is done: end every container */
          for (int i = 0; i < MAX_JOBS; i++)
            if (jobs[i].pid > 0 && jobs[i].status < 0) kill(jobs[i].pid, SIGTERM);
          continue;
        }
        have += (size_t)r;
        char *start = in, *nl;
        while ((nl = memchr(start, '\n', have - (size_t)(start - in)))) {
          *nl = '\0';
          command(start);
          start = nl + 1;
        }
        have -= (size_t)(start - in);
        memmove(in, start, have);
        if (have == sizeof in - 1) have = 0; /* a line longer than any command: dropped */
      } else if (p[x].fd == reaped_pipe[0]) {
        while (read(reaped_pipe[0], buf, sizeof buf) > 0) {
        }
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
          for (int i = 0; i < MAX_JOBS; i++)
            if (jobs[i].pid == pid) jobs[i].status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      } else {
        struct job *j = who[x].j;
        int k = who[x].k;
        ssize_t r = read(j->fds[k], buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
          close(j->fds[k]);
          j->fds[k] = -1;
          continue;
        }
        char line[MAX_ID + 64];
        snprintf(line, sizeof line, "%s %.*s %zd\n", k == 0 ? "out" : "err", MAX_ID, j->id, r);
        write_all(line, strlen(line));
        write_all(buf, (size_t)r);
      }
    }
    for (int i = 0; i < MAX_JOBS; i++) {
      struct job *j = &jobs[i];
      if (j->pid == 0 || j->status < 0 || j->fds[0] >= 0 || j->fds[1] >= 0) continue;
      char line[MAX_ID + 64];
      snprintf(line, sizeof line, "exit %.*s %d\n", MAX_ID, j->id, j->status);
      write_all(line, strlen(line));
      memset(j, 0, sizeof *j);
    }
  }
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--serve") == 0) return serve();
  if (argc != 2) {
    fprintf(stderr, "usage: wharf-container PLAN_FILE | --serve\n");
    return 125;
  }
  return launch(argv[1]);
}
