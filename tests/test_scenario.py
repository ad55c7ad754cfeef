"""Scenario files: parsing, running on the model, expectations, CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pagemig.cli import main
from pagemig.cli.app import app
from pagemig.scenario import ScenarioError, parse_text, run_scenario_file, run_scenario_text
from pagemig.scenario.values import parse_nodes, parse_status_list

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.scn"))


# --- syntax -------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ("spawn p\nfrobnicate x", "t.scn:2: unknown command 'frobnicate'"),
    ("spawn p wat=1", "t.scn:1: unknown option 'wat' for 'spawn'"),
    ("spawn", "t.scn:1: expected 'spawn NAME', got 0 argument(s)"),
    ("spawn p\np: move self a:* 1 MOVE => status", "t.scn:2: bad expectation 'status'"),
    ("spawn p\np: move self a:* 1 => status=EWHAT", "t.scn:2: bad expectation status=EWHAT"),
    ("spawn p\np: map a anon 1 => ret=0", "t.scn:2: 'map' cannot expect 'ret'"),
    ("spawn p\nmachine nodes=2", "t.scn:2: 'machine' must be the first command"),
    ("p: reclaim 0 1", "t.scn:1: 'reclaim' is a machine command and takes no actor"),
    ("spawn p\np: move self a:* 1 => ", "t.scn:2: '=>' must be followed by"),
])
def test_syntax_errors_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        parse_text(text, "t.scn")
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(("text", "message"), [
    ("map a anon 1", "t.scn:1: 'map' needs a process"),
    ("p: map a anon 1", "t.scn:1: no process named 'p'"),
    ("spawn p\np: write b:0", "t.scn:2: no region named 'b'"),
    ("spawn p\np: map a anon 2\np: write a:2", "t.scn:3: pages 2 are outside"),
    ("spawn p\nq: map a anon 1", "t.scn:2: no process named 'q'"),
    ("spawn p\np: move self a:* 1", "t.scn:2: no region named 'a'"),
    ("spawn p\np: map a anon 2\np: move self a:* 1,1,1", "t.scn:3: 2 pages but 3 nodes"),
    ("machine nodes=0", "t.scn:1: nodes must be"),
    ("spawn p\np: map a anon 1\np: map b anon 1\np: map c anon 1 after=a",
     "t.scn:4: after=a must name the last region mapped"),
    ("spawn p\np: map a anon 1\np: map b anon 1 after=a\np: map c hugetlb 512 after=b",
     "t.scn:4: after= places anon, shmem and file maps, not hugetlb"),
    ("spawn p\np: map a anon 1\np: map b anon 1\np: mbind a:0,b:0 bind 1",
     "t.scn:4: mbind needs one contiguous range"),
])
def test_semantic_errors_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as err:
        run_scenario_text(text, "t.scn")
    assert str(err.value).startswith(message), str(err.value)


def test_value_parsers() -> None:
    assert parse_nodes("0-2,5") == [0, 1, 2, 5]
    assert parse_nodes("-1") == [-1]
    assert parse_nodes("none") == []
    assert parse_status_list("EACCES,-ENOENT,1*3,?,unwritten") == [-13, -2, 1, 1, 1, "?",
                                                                   "unwritten"]


# --- running on the model --------------------------------------------------------------------

def test_expectations_hold_and_mismatches_are_reported() -> None:
    run = run_scenario_text("""
        spawn p uid=1000
        p: map a anon 3
        p: write a:0-1
        p: move self a:* 1 MOVE => ret=0 status=1,1,ENOENT nodes=1,1,-
        p: move self a:* 0 MOVE => status=0,0,0
        p: move self a:0 7 => errno=ENODEV
        p: move self a:0 7
    """)
    move, wrong, enodev, unexpected = run.records[-4:]
    assert move["problems"] == []
    assert wrong["problems"] == ["expected status=0*3, got status=0*2,ENOENT"]
    assert enodev["problems"] == [] and enodev["errno"] == "ENODEV"
    assert unexpected["problems"] == ["failed with ENODEV (add errno=ENODEV if that is expected)"]


def test_check_detects_changed_data() -> None:
    run = run_scenario_text("""
        spawn p
        p: map a anon 2
        p: write a:*
        p: check a:*
        p: write a:1 gen=3
        p: check a:*
        p: check a:1 gen=3 => data=ok
        p: check a:1 => data=ok
    """)
    assert [r["data"] for r in run.records[-5:] if r["op"] == "check"] == ["ok", "ok", "ok", "ok"]
    corrupt = run_scenario_text("""
        spawn p
        p: map a anon 1
        p: write a:0
        p: check a:0 gen=2
    """)
    assert corrupt.records[-1]["data"] == "bad"
    assert corrupt.records[-1]["problems"] == ["data differs: pages a:0 do not hold what "
                                               "was written"]


def test_private_and_shared_fills_follow_fork_semantics() -> None:
    run = run_scenario_text("""
        spawn p
        p: map a anon 1
        p: map s shmem 1
        p: write a:0
        p: write s:0
        p: fork c
        c: write a:0 gen=2
        c: write s:0 gen=5
        p: check a:0
        c: check a:0
        p: check s:0
        p: check s:0 gen=5
    """)
    assert not run.failures, run.failures


def test_faults_record_their_signal() -> None:
    run = run_scenario_text("""
        machine nodes=1 hugepages=1
        spawn p
        p: map a anon 1
        p: mprotect a:0 none
        p: touch a:0 => signal=SIGSEGV
        p: map h hugetlb 512
        p: write h:0
        p: fork c
        c: write h:0 => signal=SIGBUS
        p: touch a:0
    """)
    assert [f["problems"] for f in run.failures] == [
        ["killed by SIGSEGV (add signal=SIGSEGV if that is expected)"]], run.failures
    assert [r.get("signal") for r in run.records][-2:] == ["SIGBUS", "SIGSEGV"]


def test_pins_hold_a_reference_until_unpinned() -> None:
    run = run_scenario_text("""
        machine nodes=2
        spawn p
        p: map a anon 2
        p: write a:*
        p: pin a:1
        p: move self a:* 1 MOVE => status=1,EAGAIN
        p: unpin a:1
        p: move self a:* 1 MOVE => status=1,1
        check
    """)
    assert not run.failures, run.failures


def test_file_kinds_reclaim_and_injection() -> None:
    run = run_scenario_text("""
        machine nodes=2 swap=4MiB
        file /f fs=vfat size=8KiB
        spawn p
        p: map f file 2 path=/f
        p: write f:0 gen=4
        inject alloc_page times=1 node=1
        p: move self f:* 1 MOVE => errno=ENOMEM status=unwritten*2
        uninject
        p: check f:0 gen=4
        p: check f:1
        p: map a anon 4
        p: write a:*
        reclaim 0 1000
        p: query self a:* => status=ENOENT*4
        p: check a:*
        check
    """)
    assert not run.failures, run.failures


def test_trace_and_account_are_captured_per_step() -> None:
    run = run_scenario_text("""
        spawn p
        p: map a anon 1
        p: write a:0
        p: move self a:0 1 MOVE
    """, trace=True)
    attempts = run.records[-1]["attempts"]
    assert [(a["rc"], a["node"]) for a in attempts] == [(0, 1)]
    assert any("mm_migrate_pages" in event for event in run.records[-1]["trace"])
    assert not any("mm_migrate_pages" in event for event in run.records[-2]["trace"])


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_holds(path: Path) -> None:
    run = run_scenario_file(path)
    assert not run.failures, [(r["line"], r["problems"]) for r in run.failures]
    assert any(step.expect for step in run.steps), "an example must check something"


def test_examples_exist_for_each_behaviour() -> None:
    names = {p.stem for p in EXAMPLES}
    assert len(names) >= 9


# --- the CLI -----------------------------------------------------------------------------------

def test_run_cli_passes_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.scn"
    good.write_text("spawn p\np: map a anon 1\np: write a:0\np: move self a:0 1 => status=1\n")
    bad = tmp_path / "bad.scn"
    bad.write_text("spawn p\np: map a anon 1\np: write a:0\np: move self a:0 1 => status=0\n")
    assert main(["run", str(good)]) == 0
    out = capsys.readouterr().out
    assert "status=1" in out and "1 file(s), 4 step(s), 0 mismatch(es): passed" in out
    assert main(["run", str(good), str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:4: expected status=0, got status=1" in out


def test_run_cli_file_errors_are_one_line(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "missing.scn")]) == 2
    assert capsys.readouterr().err.strip() == f"pagemig: error: {tmp_path}/missing.scn: no such file"
    broken = tmp_path / "broken.scn"
    broken.write_text("spawn p\np: teleport a\n")
    assert main(["run", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"pagemig: error: {broken}:2: unknown command 'teleport'")
    assert "Traceback" not in err and err.count("\n") == 1


def test_run_cli_json_and_trace(tmp_path: Path) -> None:
    import json
    good = tmp_path / "good.scn"
    good.write_text("spawn p\np: map a anon 1\np: write a:0\np: move self a:0 1 MOVE\n")
    result = CliRunner().invoke(app, ["run", "--json", str(good)])
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["op"] for r in records] == ["spawn", "map", "write", "move"]
    assert records[-1]["status"] == [1] and records[-1]["file"] == str(good)
    traced = CliRunner().invoke(app, ["run", "--trace", str(good)])
    assert "mm_migrate_pages" in traced.stdout


def test_explain_and_migratepages_cli(tmp_path: Path) -> None:
    scn = tmp_path / "m.scn"
    scn.write_text("spawn p\np: map a anon 3\np: write a:*\np: move self a:0 1 MOVE\n")
    result = CliRunner().invoke(app, ["explain", str(scn)])
    assert result.exit_code == 0
    assert "migrated to node 1" in result.stdout
    moved = CliRunner().invoke(app, ["migratepages", str(scn), "p", "0", "1"])
    assert moved.exit_code == 0, moved.stdout
    lines = moved.stdout.splitlines()
    # the process's own argument page (its "stack") counts too
    assert lines[1].split() == ["before", "3", "1"]
    assert lines[2].split()[1] == "0"
    assert main(["migratepages", str(scn), "nobody", "0", "1"]) == 1


def test_after_places_a_region_right_after_the_last_one() -> None:
    run = run_scenario_text("""
machine nodes=2
spawn p cpu=0
p: map a anon 2
p: map b shmem 3 after=a
p: write a:*,b:*
p: mbind a:1,b:0-2 bind 1 MOVE => errno=ok nodes=1*4
p: where a:0 => node=0
""", "t.scn")
    assert all(r["problems"] == [] for r in run.records), run.records
    a, b = run.regions["a"], run.regions["b"]
    assert b.addr == a.addr + 2 * 4096
