"""The drop-off's rules for a file's name and the uploader's words: what a person sees, what Windows runs.

Pure, and on the API's cold-start path: plain character sets, no regular expressions.
"""

from __future__ import annotations

import string
import unicodedata

FILE_NAME_MAX = 255
SENDER_NAME_MAX = 200
FILE_TYPE_MAX = 200
EMAIL_MAX = 254

# Plain character sets rather than regular expressions: this module is on the API's cold-start path.
URL_SAFE = frozenset(string.ascii_letters + string.digits + "-_")
HEX = frozenset(string.hexdigits.lower())
# Not allowed in a file name on Windows, where the data is likely opened; `:` would also name an NTFS
# stream, `x.exe::$DATA` being x.exe.
_RESERVED = frozenset('<>:"|?*')
# NFKC folds the superscript digits Windows also treats as devices (COM¹) into plain ones.
_DEVICE_NAMES = frozenset(
    {"con", "prn", "aux", "nul"} | {f"{port}{n}" for port in ("com", "lpt") for n in "0123456789" if n != "0"}
)
# Bidirectional controls can make `x<U+202E>fdp.exe` display as `xexe.pdf`.
BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_UNITS = ("bytes", "KB", "MB", "GB", "TB", "PB")


class UploadRefusedError(Exception):
    """One reason an upload is refused; the uploader reads `reason`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def human_size(size: int, *, decimal_mark: str = ".") -> str:
    """`1536` as `1.5 KB`: binary multiples, as Windows shows sizes."""
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            break
        value /= 1024
    if unit == "bytes":
        return f"{size} bytes" if size != 1 else "1 byte"
    text = f"{value:.1f}".removesuffix(".0")
    return f"{text.replace('.', decimal_mark)} {unit}"


def valid_text(value: str) -> bool:
    """True for text a person can read as one line: valid UTF-8, no control or bidirectional characters.

    tusd hands on metadata that was not UTF-8 with U+FFFD in place of the bad bytes, so that counts as
    invalid too.
    """
    if "\ufffd" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return not any(unicodedata.category(c) == "Cc" or c in BIDI for c in value)


def check_file_name(
    raw: str, denied_extensions: frozenset[str], allowed_extensions: frozenset[str] = frozenset()
) -> str:
    """The name to keep for an uploaded file, or `UploadRefusedError` saying what is wrong with it.

    Any directory part is dropped (`..\\..\\evil.lnk` is `evil.lnk`) and invisible format characters are
    removed (`a.e<ZWSP>xe` is `a.exe`, which is what a person sees); the final extension, lower-cased
    after trailing dots and spaces are stripped (Windows strips them too, so `x.bat.` runs as x.bat),
    must be allowed when an allow-list is set, else not denied. Windows device names (`CON`, `NUL.txt`)
    are refused whatever their extension: Windows opens the device, not a file.
    """
    if not raw.strip():
        raise UploadRefusedError(400, "The upload has no file name.")
    if len(raw) > 4 * FILE_NAME_MAX:
        raise UploadRefusedError(400, f"The file name is longer than {FILE_NAME_MAX} characters.")
    if not valid_text(raw):
        raise UploadRefusedError(400, "The file name is not valid UTF-8 text or holds control characters.")
    name = _without_format_characters(base_name(raw)).rstrip(". ").strip()
    if not name:
        raise UploadRefusedError(400, "The upload has no file name.")
    if len(name) > FILE_NAME_MAX:
        raise UploadRefusedError(400, f"The file name is longer than {FILE_NAME_MAX} characters.")
    reserved = sorted(_RESERVED.intersection(name))
    if reserved:
        raise UploadRefusedError(400, f"The file name may not contain {' '.join(reserved)}.")
    if is_device_name(name):
        raise UploadRefusedError(400, f"{name} is a device name on Windows and cannot be a file name.")
    extension = extension_of(name)
    if allowed_extensions and extension not in allowed_extensions:
        shown = f"Files of type .{extension}" if extension else "Files without an extension"
        raise UploadRefusedError(
            415, f"{shown} are not accepted; accepted are .{', .'.join(sorted(allowed_extensions))}."
        )
    if not allowed_extensions and extension in denied_extensions:
        raise UploadRefusedError(415, f"Files of type .{extension} are not accepted.")
    return name


def _without_format_characters(name: str) -> str:
    """`name` without Unicode format characters (category Cf: zero-width space and joiners, soft hyphen)."""
    return "".join(c for c in name if unicodedata.category(c) != "Cf")


def is_device_name(name: str) -> bool:
    """True for a name Windows takes as a device whatever follows its first dot: `CON`, `nul.tar.gz`, `COM¹.txt`."""
    stem = unicodedata.normalize("NFKC", name).split(".", 1)[0].rstrip(" ").casefold()
    return stem in _DEVICE_NAMES


def base_name(path: str) -> str:
    """The last part of a path, whichever separator the uploader's system uses."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def extension_of(name: str) -> str:
    """The final extension, case-folded in NFKC form: `.EXE` and a full-width spelling count as `.exe`."""
    folded = unicodedata.normalize("NFKC", name).rstrip(". ").casefold()
    return folded.rsplit(".", 1)[1] if "." in folded else ""
