"""Uploads: portfolios (CSV and JSON) with row reports, dialplans with YAML paths, size limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from api_world import PORTFOLIO_CSV, World, make_settings, open_world
from sqlalchemy import func, select

from voicebot.config import ApiConfig
from voicebot.data import DEFAULT_DIALPLAN, PROMPTS_DIR
from voicebot.storage import models as m

BAD_CSV = (
    "id_cliente,nombre,telefono,saldo,moneda,acreedor\n"
    "K1,Ana Pérez,3101234567,150000,COP,Banco Andino\n"
    "K2,,3101234568,150000,COP,Banco Andino\n"
    "K3,Luis Gil,12,150000,COP,Banco Andino\n"
    "K4,Eva Sol,3101234569,muchos pesos,COP,Banco Andino\n"
    "K5,Mar Paz,3101234570,99000,COP,Banco Andino\n"
)


def _upload(world: World, data: bytes, **form: str):  # type: ignore[no-untyped-def]
    return world.client.post(
        "/portfolios/csv",
        files={"file": ("cartera.csv", data, "text/csv")},
        data={"default_region": "CO", **form},
        headers=world.auth("manager"),
    )


def test_clean_csv_reports_what_was_imported(empty: World) -> None:
    response = _upload(empty, PORTFOLIO_CSV.encode())
    assert response.status_code == 200
    report = response.json()
    assert report["rows"] == report["imported"] == report["debtors_created"] == 4
    assert report["errors"] == []
    again = _upload(empty, PORTFOLIO_CSV.encode()).json()  # idempotent re-upload
    assert again["debtors_created"] == 0 and again["debtors_updated"] == 4


def test_malformed_rows_get_422_with_the_row_report_and_good_rows_are_kept(empty: World) -> None:
    response = _upload(empty, BAD_CSV.encode())
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_rows"
    report = error["details"]
    assert report["rows"] == 5 and report["imported"] == 2
    by_line = {e["line"]: e for e in report["errors"]}
    assert set(by_line) == {3, 4, 5}
    assert by_line[3]["column"] == "nombre"
    assert by_line[4]["column"] == "telefono"
    assert by_line[5]["column"] == "saldo"
    with empty.sessions() as s:
        names = set(s.scalars(select(m.Debtor.external_id)))
    assert names == {"K1", "K5"}


def test_unreadable_file_and_unknown_campaign(empty: World) -> None:
    no_columns = _upload(empty, b"foo;bar\n1;2\n")
    assert no_columns.status_code == 422
    assert no_columns.json()["error"]["code"] == "unreadable_portfolio"
    not_text = _upload(empty, bytes(range(256)) * 4)
    assert not_text.status_code == 422
    missing = _upload(empty, PORTFOLIO_CSV.encode(), campaign_id="404")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    no_region = empty.client.post(
        "/portfolios/csv",
        files={"file": ("c.csv", PORTFOLIO_CSV.encode())},
        headers=empty.auth("manager"),
    )
    assert no_region.status_code == 422
    assert no_region.json()["error"]["details"][0]["loc"] == ["body", "default_region"]


def test_json_rows_share_the_validation(empty: World) -> None:
    rows = [
        {
            "external_id": "J1",
            "full_name": "Ana",
            "phone": "3101234567",
            "amount": "1.000",
            "creditor": "B",
        },
        {
            "external_id": "J2",
            "full_name": "Bea",
            "phone": "nope",
            "amount": "2000",
            "creditor": "B",
        },
    ]
    response = empty.client.post(
        "/portfolios/json",
        json={"default_region": "CO", "rows": rows},
        headers=empty.auth("manager"),
    )
    assert response.status_code == 422
    report = response.json()["error"]["details"]
    assert report["imported"] == 1
    assert [(e["line"], e["column"]) for e in report["errors"]] == [(2, "phone")]
    ok = empty.client.post(
        "/portfolios/json",
        json={"default_region": "CO", "rows": rows[:1]},
        headers=empty.auth("manager"),
    )
    assert ok.status_code == 200 and ok.json()["debtors_updated"] == 1


@pytest.fixture
def small_limit(sqlite_url: str) -> Iterator[World]:
    yield from open_world(
        sqlite_url, make_settings(sqlite_url, api=ApiConfig(max_upload_bytes=2048))
    )


def test_oversized_uploads_are_refused_with_413_and_nothing_stored(small_limit: World) -> None:
    big = PORTFOLIO_CSV.encode() + b"\n" * 4096
    response = _upload(small_limit, big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    with small_limit.sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.Debtor)) == 0
    plan = small_limit.client.post(
        "/dialplans/validate",
        files={"file": ("d.yaml", b"#" * 5000)},
        headers=small_limit.auth("manager"),
    )
    assert plan.status_code == 413


def test_dialplans_are_listed_and_validated_with_yaml_paths(empty: World) -> None:
    manager = empty.auth("manager")
    listed = empty.client.get("/dialplans", headers=manager).json()
    assert {
        "name": "cobranza_es",
        "file": "cobranza_es.yaml",
        "valid": True,
        "problems": 0,
    } in listed
    good = (DEFAULT_DIALPLAN).read_bytes()
    ok = empty.client.post("/dialplans/validate", files={"file": ("c.yaml", good)}, headers=manager)
    assert ok.status_code == 200
    assert ok.json()["valid"] is True and ok.json()["states"] > 5
    broken = good.replace(b"start: greeting", b"start: nowhere", 1)
    refused = empty.client.post(
        "/dialplans/validate", files={"file": ("c.yaml", broken)}, headers=manager
    )
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "invalid_dialplan"
    assert {k: error["details"][0][k] for k in ("path", "line")} == {"path": "start", "line": 7}
    assert "nowhere" in error["details"][0]["message"]
    garbage = empty.client.post(
        "/dialplans/validate", files={"file": ("c.yaml", b"\xff\xfe")}, headers=manager
    )
    assert garbage.status_code == 422


@pytest.fixture
def own_dialplans(sqlite_url: str, tmp_path: Path) -> Iterator[World]:
    folder = tmp_path / "dialplans"
    folder.mkdir()
    prompts = PROMPTS_DIR / "es" / "cobranza.yaml"
    good = (DEFAULT_DIALPLAN).read_text()
    good = good.replace("prompts: ../prompts/es/cobranza.yaml", f"prompts: {prompts}")
    (folder / "cobranza_es.yaml").write_text(good)
    (folder / "roto.yaml").write_text(good.replace("start: greeting", "start: nowhere"))
    settings = make_settings(sqlite_url, dialplan=folder / "cobranza_es.yaml")
    yield from open_world(sqlite_url, settings)


def test_campaign_creation_validates_its_dialplan(own_dialplans: World) -> None:
    manager = own_dialplans.auth("manager")
    body = {"name": "c", "jurisdiction": "CO", "default_region": "co"}
    broken = own_dialplans.client.post(
        "/campaigns", json={**body, "dialplan": "roto"}, headers=manager
    )
    assert broken.status_code == 422
    assert broken.json()["error"]["code"] == "invalid_dialplan"
    assert broken.json()["error"]["details"][0]["path"] == "start"
    unknown = own_dialplans.client.post(
        "/campaigns", json={**body, "dialplan": "no_existe"}, headers=manager
    )
    assert unknown.json()["error"]["code"] == "unknown_dialplan"
    escape = own_dialplans.client.post(
        "/campaigns", json={**body, "dialplan": "../dialplans/cobranza_es"}, headers=manager
    )
    assert escape.status_code == 422
    bad_country = own_dialplans.client.post(
        "/campaigns", json={**body, "jurisdiction": "AR"}, headers=manager
    )
    assert bad_country.status_code == 422
    created = own_dialplans.client.post(
        "/campaigns", json={**body, "dialplan": "cobranza_es.yaml"}, headers=manager
    )
    assert created.status_code == 201
    assert created.json()["dialplan"] == "cobranza_es"
    assert created.json()["default_region"] == "CO"
    duplicate = own_dialplans.client.post("/campaigns", json=body, headers=manager)
    assert duplicate.status_code == 409
    listed = own_dialplans.client.get("/dialplans", headers=manager).json()
    assert {d["name"]: d["valid"] for d in listed} == {"cobranza_es": True, "roto": False}
