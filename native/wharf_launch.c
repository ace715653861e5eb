/*
 * wharf-launch: starts an OCI runtime (crun) in a private mount namespace whose cgroup v2
 * hierarchy of a hybrid host (/sys/fs/cgroup/unified) is detached, after joining the cgroups wharf
 * made for the step, so the runtime and the container it forks inherit them.
 *
 *   wharf-launch [CGROUP_TASKS_FILE...] -- PROGRAM [ARG...]
 *
 * Why: crun refuses hybrid cgroups ("cgroups in hybrid mode not supported"); with the unified
 * hierarchy out of sight it sees a legacy (v1) host, and with --cgroup-manager=disabled it leaves
 * cgroups to wharf. The propagation of every mount here is made slave first, so the detach never
 * reaches the host's namespace; nothing outside this process changes.
 *
 * The cgroups are joined by writing 0 (this thread) to each v1 `tasks` file. This program has one
 * thread, so that moves the whole process, and the kernel moves a lone `current` thread without its
 * threadgroup lock; a pid written to `cgroup.procs` takes that lock and waits out an RCU grace
 * period (5-30 ms per step on the hosts measured).
 *
 * A PROGRAM given as a path runs from a sealed in-memory copy (exec_sealed_copy says why).
 *
 * Failures print "wharf-launch: ..." on stderr and exit 125, before the program runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *what, const char *arg) {
  fprintf(stderr, "wharf-launch: %s%s%s: %s\n", what, arg ? " " : "", arg ? arg : "", strerror(errno));
  return 125;
}

/*
 * Runs `path` from a sealed in-memory copy. An OCI runtime re-executes itself from such a copy
 * before it starts a container (CVE-2019-5736: a container must never be able to write the host's
 * runtime binary); crun 1.x does it with a read-only bind mount and a second exec, whose dynamic
 * linking of its ~11 libraries costs ~2 ms per step. Given a copy sealed against every change
 * (F_SEAL_SEAL|SHRINK|GROW|WRITE, what runc and crun check), the runtime knows it is already
 * cloned and execs once. Returns only when that cannot be done; the caller then execs the file.
 */
static void exec_sealed_copy(const char *path, char **args) {
  int src = open(path, O_RDONLY | O_CLOEXEC);
  if (src < 0) return;
  struct stat st;
  int copy = fstat(src, &st) == 0 ? memfd_create("wharf-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING) : -1;
  off_t off = 0;
  while (copy >= 0 && off < st.st_size) {
    ssize_t n = sendfile(copy, src, &off, st.st_size - off);
    if (n <= 0) {
      close(copy);
      copy = -1;
    }
  }
  close(src);
  if (copy < 0) return;
  if (fcntl(copy, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) == 0) {
    extern char **environ;
    fexecve(copy, args, environ);
  }
  close(copy);
}

int main(int argc, char **argv) {
  int i = 1;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    int fd = open(argv[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0) return fail("open", argv[i]);
    if (write(fd, "0\n", 2) != 2) return fail("join cgroup", argv[i]);
    close(fd);
  }
  if (i + 1 >= argc) {
    fprintf(stderr, "usage: wharf-launch [CGROUP_TASKS_FILE...] -- PROGRAM [ARG...]\n");
    return 125;
  }
  if (unshare(CLONE_NEWNS) != 0) return fail("unshare", "CLONE_NEWNS");
  if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0) return fail("make mounts slave", NULL);
  /* Not mounted there (a pure v1 or pure v2 host): nothing to hide. */
  if (umount2("/sys/fs/cgroup/unified", MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return fail("umount", "/sys/fs/cgroup/unified");
  if (argv[i + 1][0] == '/') exec_sealed_copy(argv[i + 1], argv + i + 1);
  execvp(argv[i + 1], argv + i + 1);
  int missing = errno == ENOENT;
  fail("exec", argv[i + 1]);
  return missing ? 127 : 126;
}
