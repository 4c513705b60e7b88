"""The seccomp filter loaded into every sandboxed script (``bwrap --seccomp FD``).

A classic BPF program assembled with :mod:`struct`, so no libseccomp binding is needed.
It is a deny list on top of bubblewrap's namespaces, not an allow list: the network
namespace already leaves a script with nothing but a downed loopback, and this filter
makes the attempt fail loudly and closes kernel interfaces that namespaces do not cover.

- ``socket()`` for AF_INET, AF_INET6, AF_NETLINK and AF_PACKET fails with EAFNOSUPPORT.
  AF_UNIX stays allowed: asyncio's event loop needs ``socketpair()``.
- io_uring can open sockets without calling ``socket()`` (IORING_OP_SOCKET), so its
  three system calls fail with ENOSYS; Python does not use it.
- bpf, perf_event_open, userfaultfd and the kernel keyring fail with EPERM: kernel
  attack surface that no image script needs.
- Any other architecture (a 32-bit ``int 0x80`` or the x32 ABI) kills the process, so
  the system call numbers below cannot be sidestepped through another table.

Only x86_64 is described; :func:`build_filter` raises on other machines rather than
load a filter whose numbers mean something else.
"""

from __future__ import annotations

import errno
import platform
import socket
import struct

# linux/audit.h: AUDIT_ARCH_X86_64 = EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000

# arch/x86/entry/syscalls/syscall_64.tbl
X86_64_SYSCALLS = {
    "socket": 41,
    "ptrace": 101,
    "add_key": 248,
    "request_key": 249,
    "keyctl": 250,
    "perf_event_open": 298,
    "bpf": 321,
    "userfaultfd": 323,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
}

DENIED_FAMILIES = (socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK, socket.AF_PACKET)
DENIED_EPERM = ("ptrace", "add_key", "request_key", "keyctl", "perf_event_open", "bpf",
                "userfaultfd")
DENIED_ENOSYS = ("io_uring_setup", "io_uring_enter", "io_uring_register")

# linux/filter.h and linux/seccomp.h
_BPF_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_BPF_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_BPF_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_BPF_RET_K = 0x06  # BPF_RET | BPF_K
SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000

# struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]
_OFFSET_NR = 0
_OFFSET_ARCH = 4
_OFFSET_ARG0_LOW = 16  # little endian: the low 32 bits of args[0] come first


class UnsupportedArchitecture(RuntimeError):
    """The filter's system call numbers are only written down for x86_64."""


def _stmt(code: int, k: int) -> tuple[int, int, int, int]:
    return (code, 0, 0, k)


def _jump(code: int, k: int, jt: int, jf: int) -> tuple[int, int, int, int]:
    return (code, jt, jf, k)


def _ret(action: int) -> tuple[int, int, int, int]:
    return _stmt(_BPF_RET_K, action)


def _errno(number: int) -> int:
    return SECCOMP_RET_ERRNO | (number & 0xFFFF)


def filter_instructions() -> list[tuple[int, int, int, int]]:
    """The program as (code, jt, jf, k) tuples; jumps are relative to the next one."""
    program = [
        _stmt(_BPF_LD_W_ABS, _OFFSET_ARCH),
        _jump(_BPF_JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        _ret(SECCOMP_RET_KILL_PROCESS),
        _stmt(_BPF_LD_W_ABS, _OFFSET_NR),
        _jump(_BPF_JGE_K, X32_SYSCALL_BIT, 0, 1),
        _ret(SECCOMP_RET_KILL_PROCESS),
    ]
    for names, action in ((DENIED_EPERM, _errno(errno.EPERM)),
                          (DENIED_ENOSYS, _errno(errno.ENOSYS))):
        for name in names:
            program.append(_jump(_BPF_JEQ_K, X86_64_SYSCALLS[name], 0, 1))
            program.append(_ret(action))
    # Everything but socket() is allowed from here on.
    program.append(_jump(_BPF_JEQ_K, X86_64_SYSCALLS["socket"], 1, 0))
    program.append(_ret(SECCOMP_RET_ALLOW))
    program.append(_stmt(_BPF_LD_W_ABS, _OFFSET_ARG0_LOW))
    for family in DENIED_FAMILIES:
        program.append(_jump(_BPF_JEQ_K, int(family), 0, 1))
        program.append(_ret(_errno(errno.EAFNOSUPPORT)))
    program.append(_ret(SECCOMP_RET_ALLOW))
    return program


def build_filter() -> bytes:
    """The filter as the array of ``struct sock_filter`` that ``bwrap --seccomp`` reads."""
    machine = platform.machine()
    if machine != "x86_64":
        raise UnsupportedArchitecture(
            f"the sandbox's seccomp filter knows x86_64 system calls only, not {machine}"
        )
    return b"".join(struct.pack("=HBBI", *instruction) for instruction in filter_instructions())
