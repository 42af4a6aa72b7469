"""The first process of a session, inside its new namespaces, as root: it builds the session's file system, sets
its limits, becomes the session's own user and then serves as its interpreter (``repl.py``).

The host starts it as ``unshare --net --mount --pid --ipc --uts --cgroup --fork --kill-child -- <sandbox python>
-I jail.py <config>``, so it is process 1 of a PID namespace (when it ends, the kernel kills every process of the
session) with a network namespace of its own (no interface but a loopback that is down). Standard library only:
it runs on the sandbox's Python (``.venv-sandbox``), which has no threadrunner.

The file system it makes (a ``pivot_root`` into a tmpfs, the old root detached):

* read-only, without set-user-id or devices: ``/usr`` (and ``/bin``, ``/lib``, ... as the host has them), the
  Python of the sandbox's environment and the environment itself, the loader's cache and the time zone;
* written by the session, in memory, bounded: ``/mnt/data`` (the files), ``/tmp``, ``/dev/shm``;
* ``/dev`` with null, zero, full, random and urandom only; a ``/proc`` of the session's own processes;
  an ``/etc/passwd`` that names the session's user. Nothing else: not the repository, not ``/root``, not ``/home``,
  not the host's ``/tmp``, not ``/sys``.

Then the limits (``_limits``), the session's own user (``_become``), and a seccomp filter (``_seccomp``).
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import resource
import shutil
import signal
import socket
import sys
import traceback
from typing import Any

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS, SECCOMP_MODE_FILTER = 1, 22, 38, 2
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
"""The pivot_root system call's number (glibc has no wrapper)."""
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/ld.so.cache", "/etc/localtime")
DEVICES = ("null", "zero", "full", "random", "urandom")
LIMITED = MS_NOSUID | MS_NODEV

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _mount(source: str | None, target: str, kind: str | None, flags: int, data: str | None = None) -> None:
    encode = lambda value: value.encode() if value is not None else None  # noqa: E731
    _check(_libc.mount(encode(source), encode(target), encode(kind), flags, encode(data)), f"mount {target}")


def _bind(source: str, root: str) -> None:
    """``source`` at the same path under ``root``, read-only: a symbolic link is made again as a link."""
    target = root + source
    if os.path.islink(source):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.lexists(target):
            os.symlink(os.readlink(source), target)
        return
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(source, target, None, MS_BIND)
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | LIMITED)


def _tmpfs(target: str, size: int, uid: int, flags: int = LIMITED | MS_NOEXEC) -> None:
    os.makedirs(target, exist_ok=True)
    _mount("tmpfs", target, "tmpfs", flags, f"size={size},mode=0700,uid={uid},gid={uid}")


def _file_system(config: dict[str, object], uid: int) -> None:
    root = str(config["root"])
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing mounted here reaches the host's namespace
    _mount("tmpfs", root, "tmpfs", LIMITED, "size=1m,mode=0755")
    _tmpfs(root + "/mnt/data", int(str(config["data_bytes"])), uid)
    _tmpfs(root + "/tmp", int(str(config["tmp_bytes"])), uid)  # before the binds: a Python may live under /tmp
    python = {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}
    bound: list[str] = []
    for source in sorted({*SYSTEM, *python}, key=len):
        covered = any(source == done or source.startswith(done + "/") for done in bound)
        if os.path.lexists(source) and not covered:
            _bind(source, root)
            bound.append(source)
    os.makedirs(root + "/dev", exist_ok=True)
    _mount("tmpfs", root + "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")
    for device in DEVICES:
        open(f"{root}/dev/{device}", "a").close()
        _mount(f"/dev/{device}", f"{root}/dev/{device}", None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "fd/0"), ("stdout", "fd/1"), ("stderr", "fd/2")):
        os.symlink(target, f"{root}/dev/{name}")
    _tmpfs(root + "/dev/shm", int(str(config["shm_bytes"])), uid)
    os.makedirs(root + "/proc", exist_ok=True)
    _mount("proc", root + "/proc", "proc", LIMITED | MS_NOEXEC)
    os.makedirs(root + "/etc", exist_ok=True)
    with open(root + "/etc/passwd", "w") as passwd:
        passwd.write(f"sandbox:x:{uid}:{uid}:sandbox:/tmp:/usr/sbin/nologin\n")
    with open(root + "/etc/group", "w") as group:
        group.write(f"sandbox:x:{uid}:\n")
    fonts = os.path.join(sys.prefix, "mplconfig")  # matplotlib's font list, made by `make` (no rebuild per session)
    if os.path.isdir(fonts):
        shutil.copytree(fonts, root + "/tmp/matplotlib")
        for directory, _, files in os.walk(root + "/tmp/matplotlib"):
            for path in [directory, *(os.path.join(directory, name) for name in files)]:
                os.chown(path, uid, uid)
    os.chdir(root)
    _check(_libc.syscall(PIVOT_ROOT[platform.machine()], b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "detach the old root")
    os.chdir("/")
    _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | LIMITED)


def _limits(limits: dict[str, int]) -> None:
    memory = limits["memory_mb"] * 1024 * 1024
    for kind, value in (
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_DATA, memory),
        (resource.RLIMIT_FSIZE, limits["max_file_bytes"]),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        (resource.RLIMIT_NPROC, limits["processes"]),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_MEMLOCK, 0),
    ):
        resource.setrlimit(kind, (value, value))
    # The session's CPU time in all; the interpreter gives each execution its share (repl.py).
    resource.setrlimit(resource.RLIMIT_CPU, (limits["session_cpu_seconds"], limits["session_cpu_seconds"]))


def _become(uid: int) -> None:
    """The session's own user and group, with no supplementary groups, no capabilities, and no way back (set-user-id
    programs do not raise it); still killed with ``unshare``, whose death signal the change of user cleared."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "death signal")


# A seccomp filter refuses what an unprivileged process needs only to reach more of the kernel: new namespaces (a user
# namespace would give the code capabilities of its own over new mounts and networks), mounts, BPF, io_uring, kernel
# keys, tracing, modules. A system call of another ABI (x32, i386 on x86_64) ends the process.
AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
REFUSED = {
    "x86_64": (
        272,
        308,
        165,
        166,
        155,
        161,
        321,
        298,
        323,
        250,
        248,
        249,
        101,
        310,
        311,
        246,
        320,
        175,
        313,
        176,
        163,
        167,
        168,
        169,
        304,
        303,
        300,
        425,
        426,
        427,
        428,
        429,
        430,
        431,
        432,
        433,
        442,
    ),
    "aarch64": (
        97,
        268,
        40,
        39,
        41,
        51,
        280,
        241,
        282,
        219,
        217,
        218,
        117,
        270,
        271,
        104,
        294,
        105,
        273,
        106,
        89,
        224,
        225,
        142,
        265,
        264,
        262,
        425,
        426,
        427,
        428,
        429,
        430,
        431,
        432,
        433,
        442,
    ),
}
"""unshare, setns, mount, umount2, pivot_root, chroot, bpf, perf_event_open, userfaultfd, keyctl, add_key, request_key,
ptrace, process_vm_readv, process_vm_writev, kexec_load, kexec_file_load, init_module, finit_module, delete_module,
acct, swapon, swapoff, reboot, open_by_handle_at, name_to_handle_at, fanotify_init, io_uring_setup, io_uring_enter,
io_uring_register, open_tree, move_mount, fsopen, fsconfig, fsmount, fspick, mount_setattr."""
CLONE = {"x86_64": 56, "aarch64": 220}
CLONE3 = 435
NEW_NAMESPACES = 0x7E020080
"""CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET and NEWTIME: clone may fork, not make namespaces."""
EPERM, ENOSYS = 1, 38
RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS = 0x7FFF0000, 0x00050000, 0x80000000


class _Instruction(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Instruction))]


def _seccomp() -> None:
    machine = platform.machine()
    load, jump_equal, jump_above_equal, jump_set, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    program = [
        (load, 0, 0, 4),  # the architecture
        (jump_equal, 1, 0, AUDIT_ARCH[machine]),
        (ret, 0, 0, RET_KILL_PROCESS),
        (load, 0, 0, 0),  # the system call's number
        (jump_above_equal, 0, 1, 0x40000000),  # x32's numbers
        (ret, 0, 0, RET_KILL_PROCESS),
        (jump_equal, 0, 1, CLONE3),  # its flags are behind a pointer: refused, and the C library falls back to clone
        (ret, 0, 0, RET_ERRNO | ENOSYS),
    ]
    for number in REFUSED[machine]:
        program += [(jump_equal, 0, 1, number), (ret, 0, 0, RET_ERRNO | EPERM)]
    program += [
        (jump_equal, 0, 3, CLONE[machine]),
        (load, 0, 0, 16),  # clone's flags (the low half of its first argument)
        (jump_set, 0, 1, NEW_NAMESPACES),
        (ret, 0, 0, RET_ERRNO | EPERM),
        (ret, 0, 0, RET_ALLOW),
    ]
    instructions = (_Instruction * len(program))(*(_Instruction(*line) for line in program))
    fprog = _Program(len(program), instructions)
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0), "seccomp")


def main() -> None:
    config = json.loads(sys.argv[1])
    commands, answers, uid = int(config["commands"]), int(config["answers"]), int(config["uid"])
    repl_path = str(config["repl"])
    with open(repl_path) as file:  # loaded now: the repository is out of reach once the root is changed
        repl: dict[str, Any] = {"__name__": "threadrunner_sandbox", "__file__": repl_path}
        exec(compile(file.read(), repl_path, "exec"), repl)
    try:
        socket.sethostname("sandbox")  # its own UTS namespace: the host's name is not the code's business
        _file_system(config, uid)
        _limits(config["limits"])
        _become(uid)
        _seccomp()
    except BaseException:
        repl["send"](answers, {"ready": False, "error": traceback.format_exc()[-4000:]})
        raise
    repl["serve"](commands, answers, config["limits"])


if __name__ == "__main__":
    main()
