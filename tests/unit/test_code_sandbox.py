"""What a code sandbox's answers are checked against: paths under the data directory, output cut to its bytes, a
session's idle time and its name."""

from __future__ import annotations

import pytest

from threadrunner.domain.code_sandbox import (
    CodeSession,
    SandboxFile,
    SandboxLimits,
    SessionKey,
    checked_path,
    cut,
    shown_images,
    written_files,
)


@pytest.mark.parametrize(
    ("path", "checked"),
    [
        ("chart.png", "chart.png"),
        ("/mnt/data/chart.png", "chart.png"),
        ("out/./table.csv", "out/table.csv"),
        ("out//deep/../table.csv", "out/table.csv"),
        ("name with spaces é.txt", "name with spaces é.txt"),
    ],
)
def test_a_path_under_the_data_directory_is_kept_relative_to_it(path, checked):
    assert checked_path(path) == checked


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/etc/passwd",
        "../etc/passwd",
        "a/../../b",
        "/mnt/data/../../etc/shadow",
        ".",
        "..",
        "a\nb",
        "a\x00b",
        "a\\b",
        "x" * 1025,
        "/mnt/datax/file",
    ],
)
def test_a_path_that_leaves_the_data_directory_or_cannot_be_a_name_is_refused(path):
    with pytest.raises(ValueError):
        checked_path(path)


def test_output_is_cut_at_a_characters_boundary_within_the_bytes():
    assert cut("abc", 3) == ("abc", False)
    assert cut("ééé", 5) == ("éé", True)  # two bytes each: the third does not fit
    assert cut("", 0) == ("", False)


def test_a_session_is_idle_once_its_idle_time_has_passed_since_its_last_use():
    limits = SandboxLimits(idle_seconds=600)
    session = CodeSession(key=SessionKey(project="p", thread_id="t"), session_id="s", started_at=0, last_used_at=100)

    assert not session.idle(699.9, limits)
    assert session.idle(700, limits)


def test_a_sessions_name_says_whose_it_is_without_its_ids():
    key = SessionKey(project="acme", thread_id="thread_abc")

    assert key.name == SessionKey(project="acme", thread_id="thread_abc").name
    assert key.name != SessionKey(project="acme", thread_id="thread_abd").name
    assert key.name != SessionKey(project="acmethread_abc", thread_id="").name
    assert "acme" not in key.name and "thread_abc" not in key.name and len(key.name) <= 100


def test_the_files_a_sandbox_lists_are_kept_only_when_they_are_paths_under_the_data_directory_with_sizes():
    limits = SandboxLimits(max_files=2)
    listed = [["../etc/passwd", 1], "junk", ["/etc/shadow", 2], ["a.csv", "x"], ["ok.csv", 3], ["b/c.png", 4], ["d", 5]]

    assert written_files(listed, limits) == [SandboxFile(path="ok.csv", size=3), SandboxFile(path="b/c.png", size=4)]
    assert written_files({"not": "a list"}, limits) == []
    assert written_files([["neg.csv", -1]], limits) == []


def test_only_png_images_are_shown_within_the_count_and_the_bytes():
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 92  # 100 bytes
    limits = SandboxLimits(max_files=2, max_file_bytes=1024)

    assert shown_images([b"GIF89a", png, png, png], limits) == [png, png]
    assert shown_images([png * 11, png], limits) == [png]  # the first is over the bytes of all
