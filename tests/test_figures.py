"""Every figure table in README.md and docs/ is generated from a results file by its script
(scripts/figures.py), and the benchmarks run (scripts/bench_all.py --quick)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import figures  # noqa: E402

# a measured-looking cell: a decimal number, thousands, or a number with a unit, e.g. "25.86",
# "1,591", "4.1 s", "318 MB", "12.3 → 4.5"; plain small integers (defaults, counts) are not figures
NUMBER = r"[~≈]?(\d+\.\d+|\d{1,3}(,\d{3})+|\d+\s*(dB|s|ms|MB|GB|KB|%|/s))"
MEASURED = re.compile(rf"^\**{NUMBER}(\s*\S*\s*{NUMBER})*\**$")


def markdown_tables(text: str):
    """(line number, header, body rows) of every markdown table in ``text``."""
    lines = text.splitlines()
    i = 0
    while i < len(lines) - 1:
        if lines[i].startswith("|") and re.match(r"^\|[-:| ]+\|$", lines[i + 1]):
            j = i + 2
            while j < len(lines) and lines[j].startswith("|"):
                j += 1
            cells = lambda line: [c.strip() for c in line.strip().strip("|").split("|")]  # noqa: E731
            yield i + 1, cells(lines[i]), [cells(line) for line in lines[i + 2 : j]]
            i = j
        else:
            i += 1


def is_figure_table(body: list[list[str]]) -> bool:
    return any(MEASURED.match(cell) for row in body for cell in row[1:])


def test_every_block_matches_its_results_file():
    problems = figures.check()
    assert not problems, "\n".join(problems)


def test_every_figure_table_in_the_docs_is_generated_from_a_results_file():
    loose = []
    for path in figures.doc_files():
        text = path.read_text()
        inside = [range(text[: m.start()].count("\n") + 1, text[: m.end()].count("\n") + 2)
                  for m in figures.BLOCK.finditer(text)]
        for line, header, body in markdown_tables(text):
            if is_figure_table(body) and not any(line in span for span in inside):
                loose.append(f"{path.relative_to(ROOT)}:{line}: | {' | '.join(header)} |")
    assert not loose, "figure tables outside a <!-- figures: FILE TABLE --> block:\n" + "\n".join(loose)


def test_check_reports_a_missing_file_a_missing_key_and_an_edited_figure(tmp_path, monkeypatch):
    results = tmp_path / "r.json"
    script = tmp_path / "bench_x.py"
    script.write_text("import figures\n"
                      "def tables(results):\n"
                      "    return {'t': figures.Table(['a', 'b'], [[r['a'], f\"{r['b']:.1f}\"] for r in results['results']])}\n")
    results.write_text(json.dumps({"command": "python bench_x.py", "script": str(script), "measured": "today",
                                   "machine": {"cpus": 2}, "timing": figures.WHOLE,
                                   "results": [{"a": "x", "b": 1.25}]}))
    doc = tmp_path / "doc.md"
    monkeypatch.setattr(figures, "doc_files", lambda: [doc])
    monkeypatch.setattr(figures, "ROOT", tmp_path)
    doc.write_text("<!-- figures: r.json t -->\n<!-- /figures -->\n")
    doc.write_text(figures.regenerate(doc.read_text()))
    assert "| x | 1.2 |" in doc.read_text() and "python bench_x.py" in doc.read_text()
    assert figures.check() == []
    doc.write_text(doc.read_text().replace("| x | 1.2 |", "| x | 1.3 |"))  # a figure edited by hand
    assert "differs from its results file" in figures.check()[0]
    doc.write_text("<!-- figures: missing.json t -->\n<!-- /figures -->\n")
    assert "does not exist" in figures.check()[0]
    results.write_text(results.read_text().replace('"b": 1.25', '"c": 1.25'))
    doc.write_text("<!-- figures: r.json t -->\n<!-- /figures -->\n")
    assert "KeyError" in figures.check()[0]


def test_a_loose_figure_table_is_found():
    text = "| type | PSNR |\n|---|---:|\n| oil | 25.86 |\n\n| option | meaning |\n|---|---|\n| `--seed` | a seed |\n"
    found = [(h, is_figure_table(b)) for _, h, b in markdown_tables(text)]
    assert found == [(["type", "PSNR"], True), (["option", "meaning"], False)]


@pytest.mark.parametrize("name", ["commands", "render_hires"])
def test_bench_all_quick_writes_results_files_with_their_tables(name, tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_all.py"), "--quick", "--only", name,
                           "--results", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((tmp_path / f"{name}.json").read_text())
    assert results["command"].startswith("python scripts/bench_") and str(tmp_path) in results["command"]
    tables = figures.load_tables(tmp_path / f"{name}.json")
    assert tables and all(t.rows for t in tables.values())


def _anchor(heading: str) -> str:
    """GitHub's anchor for a markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_links_between_the_docs_resolve_to_files_and_headings():
    broken = []
    files = figures.doc_files() + [ROOT / "checkpoints" / "README.md", ROOT / "CHANGELOG.md"]
    for path in files:
        for target, anchor in re.findall(r"\]\(([^)#\s]*\.md)?(?:#([^)\s]+))?\)", path.read_text()):
            if not target and not anchor:
                continue
            dest = (path.parent / target).resolve() if target else path
            if not dest.is_file():
                broken.append(f"{path.relative_to(ROOT)}: {target} does not exist")
            elif anchor:
                headings = {_anchor(h) for h in re.findall(r"^#+ (.*)$", dest.read_text(), re.M)}
                if anchor not in headings:
                    broken.append(f"{path.relative_to(ROOT)}: #{anchor} is not a heading of {target or path.name}")
    assert not broken, "\n".join(broken)


def test_every_results_file_is_shown_in_the_docs():
    shown = {m[1] for path in figures.doc_files() for m in figures.BLOCK.finditer(path.read_text())}
    unused = [f"bench_results/{p.name}" for p in sorted((ROOT / "bench_results").glob("*.json"))
              if f"bench_results/{p.name}" not in shown]
    assert not unused, f"results files no table shows: {unused}"
