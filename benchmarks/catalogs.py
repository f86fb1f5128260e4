"""English -> French message pairs from Debian packages' gettext catalogs, for out-of-domain tests.

Downloads the named packages (``apt-get download``, Debian's archive), unpacks their French
catalogs (``usr/share/locale/fr/LC_MESSAGES/*.mo``), turns each into text with ``msgunfmt``
(gettext) and keeps the translated messages that look like the training data of
``translation/en-fr``: one line, 3 to 40 English words, no keyboard accelerator markers (``&``
or ``_`` before a letter), no plural forms or contexts, not left untranslated (French equal to
English), and no English side that the ``--exclude`` files hold. Disjoint seeded samples of
``--size`` pairs are written to each ``--out`` file (a dev set to choose on and a test set to
report, say), English TAB French, one per line:

    python benchmarks/catalogs.py --packages audacity-data,gimp-data --size 1000 \\
        --exclude DATA/translation/en-fr/{train,dev,test}.tsv \\
        --out /tmp/ood/dev.tsv /tmp/ood/test.tsv

Needs apt-get, dpkg-deb and msgunfmt (Debian's apt, dpkg and gettext) and Debian's archive.
The messages keep their packages' licences (GIMP and Audacity: GPL); the file is made on demand
and kept outside the repository.
"""

from __future__ import annotations

import argparse
import ast
import random
import re
import subprocess
import tempfile
from pathlib import Path

ACCELERATOR = re.compile(r"(?:&|_)[A-Za-z]")


def download(packages: list[str], into: Path) -> list[Path]:
    """The packages' .deb files, fetched into ``into``."""
    subprocess.run(["apt-get", "download", *packages], cwd=into, check=True,
                   capture_output=True)  # fmt: skip
    return sorted(into.glob("*.deb"))


def french_catalogs(deb: Path, into: Path) -> list[Path]:
    """The French .mo files of one package, unpacked under ``into``."""
    subprocess.run(["dpkg-deb", "-x", str(deb), str(into)], check=True)
    return sorted(into.glob("usr/share/locale/fr/LC_MESSAGES/*.mo"))


def messages(mo: Path) -> list[tuple[str, str]]:
    """(msgid, msgstr) of a catalog's singular, context-free, translated messages."""
    po = subprocess.run(["msgunfmt", str(mo)], check=True, capture_output=True, text=True).stdout
    return parse_po(po)


def parse_po(text: str) -> list[tuple[str, str]]:
    """The (msgid, msgstr) pairs of a .po text (as msgunfmt writes it: no comments or fuzzy
    entries); entries with a context or plural forms, and the header, are left out."""
    pairs = []
    for entry in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in entry.splitlines():
            match = re.match(r"^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) (\".*\")$", line)
            if match:
                key = match.group(1)
                fields[key] = ast.literal_eval(match.group(2))
            elif line.startswith('"') and key is not None:
                fields[key] += ast.literal_eval(line)
        if "msgctxt" in fields or "msgid_plural" in fields or not fields.get("msgid"):
            continue
        if fields.get("msgstr"):
            pairs.append((fields["msgid"], fields["msgstr"]))
    return pairs


def keep(source: str, target: str) -> bool:
    """Whether a pair looks like the training data's (see the module docstring)."""
    if "\n" in source or "\n" in target or "\t" in source or "\t" in target:
        return False
    if ACCELERATOR.search(source) or ACCELERATOR.search(target):
        return False
    words = len(source.split())
    return 3 <= words <= 40 and source.strip() != target.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", required=True, help="comma-separated Debian packages")
    parser.add_argument("--out", required=True, nargs="+", help="the TSV files to write")
    parser.add_argument("--size", type=int, default=1000, help="pairs per file")
    parser.add_argument("--exclude", nargs="*", default=[], help="TSV files whose sources go")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    excluded = set()
    for path in args.exclude:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            excluded.add(line.split("\t", 1)[0].strip())
    pairs: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for deb in download(args.packages.split(","), root):
            for mo in french_catalogs(deb, root / deb.stem):
                for source, target in messages(mo):
                    source, target = source.strip(), target.strip()
                    if keep(source, target) and source not in excluded:
                        pairs.setdefault(source, target)
    chosen = sorted(pairs.items())
    random.Random(args.seed).shuffle(chosen)
    for k, name in enumerate(args.out):
        sample = chosen[k * args.size : (k + 1) * args.size]
        out = Path(name)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(f"{s}\t{t}\n" for s, t in sample), encoding="utf-8")
        print(f"{out}: {len(sample)} pairs of {len(pairs)} kept from {args.packages}")


if __name__ == "__main__":
    main()
