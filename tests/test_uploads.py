import pytest

from qa.uploads import UploadError, remove_document, restore_document, safe_name, store_upload

MB = 2**20


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "..\\x.txt",
        ".hidden.txt",
        "~root.txt",
        "a/b.txt",
        "",
        "evil\x00.txt",
        "notes.exe",
        "x" * 300 + ".txt",
    ],
)
def test_hostile_or_odd_names_are_refused(name):
    with pytest.raises(UploadError):
        safe_name(name)


def test_bad_content_is_refused_and_nothing_written(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    cases = {
        "empty.txt": b"  \n",
        "bin.txt": b"\x00\x01\x02",
        "latin.txt": "caf\xe9".encode("latin-1"),
        "fake.pdf": b"hello",
        "big.txt": b"a" * (2 * MB),
    }
    for name, data in cases.items():
        with pytest.raises(UploadError, match="Refused"):
            store_upload(docs, name, data, max_bytes=MB)
    assert list(docs.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["docs"]


def test_good_upload_and_reversible_removal(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    path = store_upload(docs, "Notes (2024).md", b"# Notes\nThe meeting is on Friday.\n", max_bytes=MB)
    assert path == docs / "Notes (2024).md" and path.read_bytes().startswith(b"# Notes")
    moved = remove_document(docs, "Notes (2024).md")
    assert moved == docs / ".removed" / "Notes (2024).md" and not path.exists()
    with pytest.raises(UploadError):
        remove_document(docs, "../outside.txt")
    # Undo brings it back, once; nothing outside .removed/ can be "restored".
    assert restore_document(docs, "Notes (2024).md") == path and path.exists() and not moved.exists()
    with pytest.raises(UploadError):
        restore_document(docs, "Notes (2024).md")
    with pytest.raises(UploadError):
        restore_document(docs, "../../etc/passwd")
