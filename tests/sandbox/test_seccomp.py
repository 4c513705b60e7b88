"""The seccomp program is well formed; its effect is tested in test_launcher."""

from __future__ import annotations

import platform

import pytest

from sandbox import seccomp


def test_every_jump_lands_inside_the_program_and_it_ends_in_a_return() -> None:
    program = seccomp.filter_instructions()

    for index, (code, jt, jf, _) in enumerate(program):
        if code & 0x07 == 0x05:  # BPF_JMP
            assert index + 1 + max(jt, jf) < len(program)
    assert program[-1][0] == 0x06  # BPF_RET
    assert len(program) < 4096  # BPF_MAXINSNS


@pytest.mark.skipif(platform.machine() != "x86_64", reason="the filter is x86_64 only")
def test_the_filter_is_packed_as_struct_sock_filter() -> None:
    packed = seccomp.build_filter()

    assert len(packed) == 8 * len(seccomp.filter_instructions())


def test_other_architectures_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sandbox.seccomp.platform.machine", lambda: "aarch64")

    with pytest.raises(seccomp.UnsupportedArchitecture, match="aarch64"):
        seccomp.build_filter()
