/**
 * Docker's default seccomp profile as data (moby `profiles/seccomp/default.json`): an allow-list
 * over a default of EPERM, with rules that only apply for some capabilities, architectures or
 * kernels. `seccomp.ts` turns it into a runtime-spec `linux.seccomp` for one container.
 *
 * Rule semantics (as moby's generator applies them): a rule is dropped when any `excludes.caps`
 * capability is in the container's set, when its arch is in `excludes.arches`, or when the kernel
 * is at least `excludes.minKernel`; it is kept only when every `includes.caps` capability is in
 * the set, its arch is in `includes.arches` and the kernel is at least `includes.minKernel`.
 * Arch names are Go's GOARCH-style libseccomp names (`amd64`, `x86`, `arm64`, ...).
 */
import { lazily } from '../util/index.js';

export type SeccompAction = 'SCMP_ACT_ALLOW' | 'SCMP_ACT_ERRNO';
export type SeccompOp = 'SCMP_CMP_EQ' | 'SCMP_CMP_NE' | 'SCMP_CMP_MASKED_EQ';

export interface SeccompArg {
  readonly index: number;
  readonly value: number;
  readonly valueTwo?: number;
  readonly op: SeccompOp;
}

export interface SeccompFilter {
  readonly caps?: readonly string[];
  readonly arches?: readonly string[];
  readonly minKernel?: string;
}

export interface SeccompRule {
  readonly names: readonly string[];
  readonly action: SeccompAction;
  readonly errnoRet?: number;
  readonly args?: readonly SeccompArg[];
  readonly includes?: SeccompFilter;
  readonly excludes?: SeccompFilter;
}

export interface SeccompProfile {
  readonly defaultAction: SeccompAction;
  readonly defaultErrnoRet: number;
  /** Native seccomp arch → the sub-architectures a process of it may also call in. */
  readonly archMap: Readonly<Record<string, readonly string[]>>;
  readonly rules: readonly SeccompRule[];
}

const EPERM = 1;
const ENOSYS = 38;
/** CLONE_NEWNS|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET|NEWCGROUP: a clone creating none of these is allowed. */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;
/** AF_VSOCK: the one socket family refused (it reaches the hypervisor's host). */
const AF_VSOCK = 40;

const words = (s: string): string[] => s.trim().split(/\s+/);

/** Allowed for every container: everything not listed here, or in a rule below, is EPERM. */
const ALWAYS = `
  accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32
  clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
  clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2
  dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait
  epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64
  fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchown fchown32 fchownat fcntl
  fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64
  fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_time64 futex_waitv futimesat getcpu
  getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups
  getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid
  getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid getsockname
  getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch
  inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents
  io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit io_uring_enter
  io_uring_register io_uring_setup ipc kill landlock_add_rule landlock_create_ruleset
  landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr llistxattr _llseek
  lremovexattr lseek lsetxattr lstat lstat64 madvise membarrier memfd_create memfd_secret mincore
  mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify
  mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap
  msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep
  newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2
  pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2
  prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead
  readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages
  removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending
  rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
  rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
  sched_get_priority_min sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64
  sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select
  semctl semget semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto
  setfsgid setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid
  setpriority setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32
  setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32
  setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn
  socketcall socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat sync
  sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun
  timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime
  timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit
  umask uname unlink unlinkat utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid
  waitpid write writev
`;

const allow = (names: string, more: Omit<SeccompRule, 'names' | 'action'> = {}): SeccompRule =>
  ({ names: words(names), action: 'SCMP_ACT_ALLOW', ...more });
const withCap = (cap: string, names: string): SeccompRule => allow(names, { includes: { caps: [cap] } });
const personality = (value: number): SeccompRule => allow('personality', { args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] });

/** The profile, made at its first use (a RUN's config), not as the module loads (~0.1 ms of every command). */
export const defaultSeccompProfile = lazily((): SeccompProfile => ({
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: EPERM,
  archMap: {
    SCMP_ARCH_X86_64: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    SCMP_ARCH_AARCH64: ['SCMP_ARCH_ARM'],
    SCMP_ARCH_MIPS64: ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64N32'],
    SCMP_ARCH_MIPS64N32: ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64'],
    SCMP_ARCH_MIPSEL64: ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64N32'],
    SCMP_ARCH_MIPSEL64N32: ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64'],
    SCMP_ARCH_S390X: ['SCMP_ARCH_S390'],
    SCMP_ARCH_RISCV64: [],
  },
  rules: [
    allow(ALWAYS),
    allow('process_vm_readv process_vm_writev ptrace', { includes: { minKernel: '4.8' } }),
    allow('socket', { args: [{ index: 0, value: AF_VSOCK, op: 'SCMP_CMP_NE' }] }),
    // Linux personality, UNAME26, PER_LINUX32, UNAME26|PER_LINUX32, and the query (0xffffffff).
    personality(0x0), personality(0x0008), personality(0x20000), personality(0x20008), personality(0xffffffff),
    allow('sync_file_range2 swapcontext', { includes: { arches: ['ppc64le'] } }),
    allow('arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls', { includes: { arches: ['arm', 'arm64'] } }),
    allow('arch_prctl', { includes: { arches: ['amd64', 'x32'] } }),
    allow('modify_ldt', { includes: { arches: ['amd64', 'x32', 'x86'] } }),
    allow('s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr', { includes: { arches: ['s390', 's390x'] } }),
    allow('riscv_flush_icache', { includes: { arches: ['riscv64'] } }),
    withCap('CAP_DAC_READ_SEARCH', 'open_by_handle_at'),
    withCap('CAP_SYS_ADMIN', `bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount
      mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog
      umount umount2 unshare`),
    // Without CAP_SYS_ADMIN, clone may not make namespaces (s390 passes the flags second).
    allow('clone', {
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] },
    }),
    allow('clone', {
      args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      includes: { arches: ['s390', 's390x'] },
      excludes: { caps: ['CAP_SYS_ADMIN'] },
    }),
    // clone3's flags are behind a pointer seccomp cannot read: ENOSYS makes libc fall back to clone.
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    withCap('CAP_SYS_BOOT', 'reboot'),
    withCap('CAP_SYS_CHROOT', 'chroot'),
    withCap('CAP_SYS_MODULE', 'delete_module init_module finit_module'),
    withCap('CAP_SYS_PACCT', 'acct'),
    withCap('CAP_SYS_PTRACE', 'kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace'),
    withCap('CAP_SYS_RAWIO', 'iopl ioperm'),
    withCap('CAP_SYS_TIME', 'settimeofday stime clock_settime clock_settime64'),
    withCap('CAP_SYS_TTY_CONFIG', 'vhangup'),
    withCap('CAP_SYS_NICE', 'get_mempolicy mbind set_mempolicy set_mempolicy_home_node'),
    withCap('CAP_SYSLOG', 'syslog'),
    withCap('CAP_BPF', 'bpf'),
    withCap('CAP_PERFMON', 'perf_event_open'),
  ],
}));
