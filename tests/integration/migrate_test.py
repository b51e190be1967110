"""`icegate migrate` (DESIGN §1, §3): creates namespace icegate and the four tables in the
SQLite JDBC catalog with v2 metadata files at absolute file:// locations; idempotent."""
import atexit
import glob
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tap import BIN, check, done, run_cli  # noqa: E402

TABLES = ["logs", "spans", "metrics", "events"]
REQUIRED_V2 = ["format-version", "table-uuid", "location", "last-sequence-number", "last-updated-ms",
               "last-column-id", "current-schema-id", "schemas", "default-spec-id", "partition-specs",
               "last-partition-id", "default-sort-order-id", "sort-orders"]

D = tempfile.mkdtemp(prefix="icegate-migrate-")
atexit.register(shutil.rmtree, D, True)
DATA = os.path.join(D, "data")
ENV = {"ICEGATE_DATA_DIR": DATA}
state = {}


def rows():
    con = sqlite3.connect(os.path.join(DATA, "catalog.db"))
    try:
        t = con.execute("SELECT catalog_name, table_namespace, table_name, metadata_location, "
                        "previous_metadata_location, iceberg_type FROM iceberg_tables "
                        "ORDER BY table_name").fetchall()
        n = con.execute("SELECT catalog_name, namespace, property_key, property_value "
                        "FROM iceberg_namespace_properties").fetchall()
        mode = con.execute("PRAGMA journal_mode").fetchone()[0]
        return t, n, mode
    finally:
        con.close()


def path_of(uri):
    assert uri.startswith("file:///"), uri
    return urllib.parse.unquote(uri[len("file://"):])


def metadata(table):
    t, _, _ = rows()
    loc = [r[3] for r in t if r[2] == table][0]
    with open(path_of(loc)) as f:
        return loc, json.load(f)


def all_ids(fields):
    out = []

    def typ(t):
        if isinstance(t, dict):
            if t["type"] == "struct":
                for f in t["fields"]:
                    out.append(f["id"])
                    typ(f["type"])
            elif t["type"] == "list":
                out.append(t["element-id"])
                typ(t["element"])
            elif t["type"] == "map":
                out.extend([t["key-id"], t["value-id"]])
                typ(t["key"])
                typ(t["value"])
    typ({"type": "struct", "fields": fields})
    return out


def t_first_run():
    rc, out, err = run_cli(["migrate"], env=ENV)
    assert rc == 0, (rc, out, err)
    lines = out.splitlines()
    assert lines[0] == "created namespace icegate", out
    for t in TABLES:
        assert any(l.startswith(f"created table icegate.{t} (metadata file:///") for l in lines), out
    assert len(lines) == 5, out
    state["first"] = out


def t_second_run_up_to_date():
    before = sorted(glob.glob(os.path.join(DATA, "warehouse", "**", "*"), recursive=True))
    rc, out, err = run_cli(["migrate"], env=ENV)
    assert rc == 0, (rc, out, err)
    assert out == "up to date\n", out
    after = sorted(glob.glob(os.path.join(DATA, "warehouse", "**", "*"), recursive=True))
    assert before == after


def t_catalog_rows():
    t, n, mode = rows()
    assert mode == "wal", mode
    assert [r[2] for r in t] == sorted(TABLES), t
    for cat, ns, name, loc, prev, typ in t:
        assert (cat, ns, typ, prev) == ("icegate", "icegate", "TABLE", None), (cat, ns, typ, prev)
        assert loc.startswith("file:///") and loc.endswith(".metadata.json"), loc
        want_dir = os.path.join(os.path.realpath(DATA), "warehouse", "icegate", name, "metadata")
        assert os.path.dirname(path_of(loc)) == want_dir, (loc, want_dir)
        assert os.path.basename(loc).startswith("00000-")
        assert loc in state["first"]
    assert n == [("icegate", "icegate", "exists", "true")], n


def t_metadata_files():
    for table in TABLES:
        loc, m = metadata(table)
        for k in REQUIRED_V2:
            assert k in m, (table, k)
        assert m["format-version"] == 2
        assert len(m["table-uuid"]) == 36 and m["table-uuid"][14] == "4", m["table-uuid"]
        assert m["location"] == loc.rsplit("/metadata/", 1)[0], (m["location"], loc)
        assert not m["location"].endswith("/")
        assert m["last-sequence-number"] == 0
        assert m["current-snapshot-id"] == -1 and m["refs"] == {} and m["snapshots"] == []
        assert m["snapshot-log"] == [] and m["metadata-log"] == []
        assert "schema" not in m and "partition-spec" not in m
        schema = [s for s in m["schemas"] if s["schema-id"] == m["current-schema-id"]][0]
        ids = all_ids(schema["fields"])
        assert len(ids) == len(set(ids)), "duplicate field ids"
        assert m["last-column-id"] == max(ids), (m["last-column-id"], max(ids))
        top = {f["name"]: f for f in schema["fields"]}
        assert top["tenant_id"]["required"] is True and top["tenant_id"]["type"] == "string"
        assert top["account_id"]["required"] is False
        assert top["timestamp"]["type"] == "timestamptz"
        assert m["properties"]["write.format.default"] == "parquet"
        assert m["properties"]["write.parquet.compression-codec"] == "zstd"
        # partition spec
        assert m["default-spec-id"] == 0 and m["last-partition-id"] == 1002
        spec = m["partition-specs"][0]
        assert spec["spec-id"] == 0
        assert [(f["name"], f["transform"], f["source-id"], f["field-id"]) for f in spec["fields"]] == [
            ("tenant_id", "identity", top["tenant_id"]["id"], 1000),
            ("account_id", "identity", top["account_id"]["id"], 1001),
            ("timestamp_day", "day", top["timestamp"]["id"], 1002)], spec
        # sort orders: unsorted 0 plus the default order 1
        orders = {o["order-id"]: o for o in m["sort-orders"]}
        assert orders[0]["fields"] == []
        assert m["default-sort-order-id"] == 1
        byid = {f["id"]: f["name"] for f in schema["fields"]}
        got = [(byid[f["source-id"]], f["direction"], f["null-order"], f["transform"])
               for f in orders[1]["fields"]]
        want = {
            "logs": [("service_name", "asc", "nulls-first", "identity"),
                     ("timestamp", "desc", "nulls-last", "identity")],
            "events": [("service_name", "asc", "nulls-first", "identity"),
                       ("timestamp", "desc", "nulls-last", "identity")],
            "spans": [("trace_id", "asc", "nulls-first", "identity"),
                      ("timestamp", "asc", "nulls-first", "identity")],
            "metrics": [("metric_name", "asc", "nulls-first", "identity"),
                        ("service_name", "asc", "nulls-first", "identity"),
                        ("timestamp", "desc", "nulls-last", "identity")],
        }[table]
        assert got == want, (table, got)


def t_types():
    _, m = metadata("spans")
    f = {x["name"]: x for x in m["schemas"][0]["fields"]}
    assert f["trace_id"]["type"] == "fixed[16]" and f["span_id"]["type"] == "fixed[8]"
    a = f["attributes"]["type"]
    assert a["type"] == "map" and a["key"] == "string" and a["value"] == "string"
    assert a["value-required"] is False and "key-id" in a and "value-id" in a
    ev = f["events"]["type"]
    assert ev["type"] == "list" and ev["element"]["type"] == "struct" and "element-id" in ev
    assert "element-required" in ev
    _, mm = metadata("metrics")
    g = {x["name"]: x for x in mm["schemas"][0]["fields"]}
    assert g["is_monotonic"]["type"] == "boolean" and g["value_double"]["type"] == "double"
    assert g["bucket_counts"]["type"]["element"] == "long"


def t_config_file_and_schema_difference():
    # A config file naming its own paths; then a table whose schema lacks columns.
    d = tempfile.mkdtemp(prefix="icegate-migrate-cfg-")
    atexit.register(shutil.rmtree, d, True)
    cfg = os.path.join(d, "c.yaml")
    with open(cfg, "w") as f:
        f.write(f"storage:\n  path: {d}/wh\ncatalog:\n  uri: {d}/cat/c.db\n")
    rc, out, err = run_cli(["migrate", "--config", cfg], env={"ICEGATE_DATA_DIR": os.path.join(d, "unused")})
    assert rc == 0, (rc, out, err)
    assert os.path.exists(f"{d}/cat/c.db") and not os.path.exists(os.path.join(d, "unused", "catalog.db"))
    con = sqlite3.connect(f"{d}/cat/c.db")
    loc = con.execute("SELECT metadata_location FROM iceberg_tables WHERE table_name='events'").fetchone()[0]
    with open(path_of(loc)) as f:
        m = json.load(f)
    m["schemas"][0]["fields"] = [x for x in m["schemas"][0]["fields"] if x["name"] != "body"]
    new = loc.replace("/00000-", "/00001-")
    with open(path_of(new), "w") as f:
        json.dump(m, f)
    con.execute("UPDATE iceberg_tables SET metadata_location=?, previous_metadata_location=? "
                "WHERE table_name='events' AND metadata_location=?", (new, loc, loc))
    con.commit()
    con.close()
    rc, out, err = run_cli(["migrate", "--config", cfg])
    assert rc == 4, (rc, out, err)
    assert "table icegate.events: schema differs" in out and "body (id 13)" in out, out
    assert "icegate.logs" not in out, out


def t_concurrent_migrates():
    d = tempfile.mkdtemp(prefix="icegate-migrate-par-")
    atexit.register(shutil.rmtree, d, True)
    env = dict(os.environ, ICEGATE_DATA_DIR=os.path.join(d, "data"))
    procs = [subprocess.Popen([BIN, "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(4)]
    outs = [p.communicate(timeout=60) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, (p.returncode, out, err)
    created = sum(o.count("created table ") for o, _ in outs)
    assert created == 4, outs
    con = sqlite3.connect(os.path.join(d, "data", "catalog.db"))
    n = con.execute("SELECT count(*) FROM iceberg_tables").fetchone()[0]
    con.close()
    assert n == 4
    files = glob.glob(os.path.join(d, "data", "warehouse", "icegate", "*", "metadata", "*"))
    assert len(files) == 4, files  # losers removed their unreferenced metadata files


check("first migrate creates the namespace and 4 tables", t_first_run)
check("second migrate says up to date and writes nothing", t_second_run_up_to_date)
check("catalog rows follow the JDBC schema", t_catalog_rows)
check("metadata files are v2 with spec, sort orders, last-column-id", t_metadata_files)
check("Iceberg types of nested columns", t_types)
check("concurrent migrates create each table once, leave no stray files", t_concurrent_migrates)
check("--config paths; a schema lacking columns fails with exit 4", t_config_file_and_schema_difference)
done()
