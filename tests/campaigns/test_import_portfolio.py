"""Portfolio import on SQLite and PostgreSQL: bad rows reported by line, good rows in, re-import idempotent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.portfolio import import_csv, import_json_rows
from voicebot.campaigns.portfolio_rows import PortfolioError, parse_amount
from voicebot.storage import models as m

GOOD_AND_BAD = (
    "id_cliente;nombre;documento;celular;telefono2;saldo;moneda;dias_mora;acreedor;obligacion\n"  # 1
    "C1;Ana Pérez;52111234;3101234567;;1.200.000;COP;45;Banco Andino;T-1\n"  # 2 good
    "C2;Luis Gómez;79123456;12345;;500.000;COP;30;Banco Andino;T-2\n"  # 3 bad phone
    "C3;;1020304050;3209876543;;300.000;COP;10;Banco Andino;T-3\n"  # 4 no name
    "C4;Rosa Díaz;1010101;3151112233;6017654321;-5;COP;12;Banco Andino;T-4\n"  # 5 negative
    'C5;"Marta\nRuiz";2020202;3162223344;;$ 250.000;XXX;12;Banco Andino;T-5\n'  # 6-7 quoted newline, bad currency
    "C6;Jorge Lara;3030303;3173334455;;90.000;COP;muchos;Banco Andino;T-6\n"  # 8 bad days
    "C1;Ana Pérez;52111234;3101234567;;1.200.000;COP;45;Banco Andino;T-1\n"  # 9 duplicate of 2
    "C7;Pedro Soto;4040404;3184445566\n"  # 10 wrong column count
    "C8;Lucía Mora;5050505;3195556677;6012223344;1,350,000.50;COP;61;Banco Andino;T-8\n"  # 11 good, 2 phones
)


def errors_by_line(report_errors: list[dict[str, object]]) -> dict[int, list[tuple[object, str]]]:
    found: dict[int, list[tuple[object, str]]] = {}
    for e in report_errors:
        found.setdefault(int(str(e["line"])), []).append((e["column"], str(e["reason"])))
    return found


def test_bad_rows_are_reported_with_line_and_column_and_good_rows_import(
    sessions: sessionmaker[Session],
) -> None:
    report = import_csv(sessions, GOOD_AND_BAD.encode("utf-8"), default_region="CO")
    errors = errors_by_line(report.to_json()["errors"])
    assert sorted(errors) == [3, 4, 5, 6, 8, 9, 10]
    assert errors[3][0][0] == "celular" and "'12345'" in errors[3][0][1]
    assert errors[4] == [("nombre", "name is empty")]
    assert errors[5][0][0] == "saldo" and "positive" in errors[5][0][1]
    assert errors[6] == [("moneda", "unknown currency 'XXX'")]
    assert errors[8][0][0] == "dias_mora"
    assert errors[9] == [("obligacion", "duplicate of line 2")]
    assert errors[10] == [("*", "expected 10 columns, found 4")]
    assert (
        report.rows == 9 and report.imported == 2
    )  # the quoted newline makes 9 records of 10 lines
    with sessions() as s:
        names = s.scalars(select(m.Debtor.full_name).order_by(m.Debtor.external_id)).all()
        assert names == ["Ana Pérez", "Lucía Mora"]
        phones = s.scalars(select(m.Phone.e164).order_by(m.Phone.e164)).all()
        assert phones == ["+573101234567", "+573195556677", "+576012223344"]
        kinds = dict(s.execute(select(m.Phone.e164, m.Phone.kind)).all())
        assert kinds["+573195556677"] == "mobile" and kinds["+576012223344"] == "landline"
        amounts = s.scalars(select(m.Debt.amount).order_by(m.Debt.amount)).all()
        assert amounts == [Decimal("1200000.00"), Decimal("1350000.50")]


def test_reimport_updates_instead_of_duplicating(sessions: sessionmaker[Session]) -> None:
    first = import_csv(sessions, GOOD_AND_BAD, default_region="CO")
    assert first.debtors_created == 2
    changed = GOOD_AND_BAD.replace(
        "C1;Ana Pérez;52111234;3101234567;;1.200.000", "C1;Ana Pérez;52111234;3101234567;;1.100.000"
    )
    again = import_csv(sessions, changed, default_region="CO")
    assert (
        again.debtors_created,
        again.debtors_updated,
        again.debts_created,
        again.phones_created,
    ) == (0, 2, 0, 0)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.Debtor)) == 2
        assert s.scalar(select(func.count()).select_from(m.Debt)) == 2
        ana = s.scalars(select(m.Debt).where(m.Debt.external_ref == "T-1")).one()
        assert ana.amount == Decimal("1100000.00")


def test_latin1_comma_file_with_english_headers(sessions: sessionmaker[Session]) -> None:
    text = 'external_id,name,phone,balance,currency,creditor\nU1,José Núñez,(212) 555-0199,"1,250.75",USD,Liberty Card\n'
    report = import_csv(sessions, text.encode("latin-1"), default_region="US")
    assert report.errors == [] and report.imported == 1
    with sessions() as s:
        assert s.scalars(select(m.Debtor.full_name)).one() == "José Núñez"
        assert s.scalars(select(m.Phone.e164)).one() == "+12125550199"


def test_json_rows_share_the_validation(sessions: sessionmaker[Session]) -> None:
    report = import_json_rows(
        sessions,
        [
            {
                "external_id": "J1",
                "name": "Ana",
                "phone": "3101234567",
                "amount": 1000,
                "creditor": "B",
            },
            {"external_id": "J2", "name": "Bea", "phone": "nope", "amount": 1000, "creditor": "B"},
        ],
        default_region="CO",
    )
    assert report.imported == 1
    assert [e.line for e in report.errors] == [2]


def test_campaign_membership_is_recorded_once(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        campaign = m.Campaign(
            name="c", dialplan="cobranza_es", jurisdiction="CO", default_region="CO"
        )
        s.add(campaign)
        s.flush()
        campaign_id = campaign.id
    for _ in range(2):
        import_csv(sessions, GOOD_AND_BAD, default_region="CO", campaign_id=campaign_id)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.CampaignDebtor)) == 2


def test_missing_required_columns_is_a_clear_error(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(PortfolioError, match="missing required column"):
        import_csv(sessions, "id,nombre\n1,Ana\n", default_region="CO")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.200.000", "1200000"),
        ("1,200,000.50", "1200000.50"),
        ("1.200.000,50", "1200000.50"),
        ("$ 350.000", "350000"),
        ("1200.5", "1200.5"),
        ("1.200", "1200"),
        ("S/ 1,500", "1500"),
    ],
)
def test_amount_formats(text: str, value: str) -> None:
    assert parse_amount(text) == Decimal(value)


def test_utf8_bom_file_with_a_custom_column_mapping(sessions: sessionmaker[Session]) -> None:
    text = (
        "Cod Deudor;Razón social;Móvil principal;Otro número;Importe;Entidad\n"
        "Z9;Ñandú Ltda;+52 55 1234 5678;55 8765 4321;$ 12.500,75;Financiera Sol\n"
    )
    report = import_csv(
        sessions,
        text.encode("utf-8-sig"),
        default_region="MX",
        columns={
            "external_id": "Cod Deudor",
            "full_name": "Razón social",
            "phones": ["Móvil principal", "Otro número"],
            "amount": "Importe",
            "creditor": "Entidad",
        },
    )
    assert report.errors == [] and report.imported == 1
    with sessions() as s:
        debtor = s.scalars(select(m.Debtor)).one()
        assert (debtor.external_id, debtor.full_name) == ("Z9", "Ñandú Ltda")
        debt = s.scalars(select(m.Debt)).one()
        assert (debt.amount, debt.currency) == (Decimal("12500.75"), "MXN")
        phones = s.scalars(select(m.Phone.e164).order_by(m.Phone.priority)).all()
        assert phones == ["+525512345678", "+525587654321"]


def test_a_mapping_that_names_an_absent_header_is_refused(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(PortfolioError, match="no header 'Saldo total'"):
        import_csv(
            sessions,
            "id,nombre,telefono,saldo\n1,Ana,3101234567,100\n",
            default_region="CO",
            columns={"amount": "Saldo total"},
        )
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.Debtor)) == 0


def test_json_numbers_are_read_as_numbers(sessions: sessionmaker[Session]) -> None:
    """1234.5 is not 12.345 thousand, 45.0 days is 45, and cents beyond two are refused."""
    values = [(1234.5, 45.0), (999.99, 3), (1200, 0), ("1.200", 1), (1234.567, 2)]
    records = [
        {"external_id": f"N{i}", "name": "Ana", "phone": f"31012345{i:02d}", "creditor": "B"}
        | {"amount": amount, "days_past_due": days}
        for i, (amount, days) in enumerate(values)
    ]
    report = import_json_rows(sessions, records, default_region="CO")
    assert [(e.line, e.column) for e in report.errors] == [(5, "amount")]
    assert "1234.5670" in report.errors[0].reason and "2 decimals" in report.errors[0].reason
    with sessions() as s:
        rows = s.execute(
            select(m.Debtor.external_id, m.Debt.amount, m.Debt.days_past_due).join(m.Debt)
        ).all()
    assert {r[0]: (r[1], r[2]) for r in rows} == {
        "N0": (Decimal("1234.50"), 45),
        "N1": (Decimal("999.99"), 3),
        "N2": (Decimal("1200.00"), 0),
        "N3": (Decimal("1200.00"), 1),
    }


def test_reimport_mixing_new_and_known_debtors_keeps_every_field(
    sessions: sessionmaker[Session],
) -> None:
    """The key lookups of a re-import match every stored debtor, phone and debt by its key."""
    header = "id_cliente;nombre;documento;celular;saldo;acreedor;obligacion;segmento;estado\n"
    import_csv(
        sessions,
        header + "R1;Ana Pérez;111;3101234567;100.000;Banco Andino;O-1;A;\n",
        default_region="CO",
    )
    with sessions() as s:
        created = s.scalars(select(m.Debtor).where(m.Debtor.external_id == "R1")).one().created_at
    again = import_csv(
        sessions,
        header
        + "R1;Ana María Pérez;111;3101234567;90.000;Banco Andino;O-1;B;\n"
        + "R2;Luis Gómez;222;3111234567;50.000;Banco Andino;O-2;C;\n",
        default_region="CO",
    )
    assert (again.debtors_created, again.debtors_updated, again.debts_created) == (1, 1, 1)
    assert (again.debts_updated, again.phones_created, again.errors) == (1, 1, [])
    with sessions() as s:
        debtors = {d.external_id: d for d in s.scalars(select(m.Debtor))}
        debts = {d.external_ref: d for d in s.scalars(select(m.Debt))}
        phones = {p.e164: p.debtor_id for p in s.scalars(select(m.Phone))}
    ana, luis = debtors["R1"], debtors["R2"]
    assert (ana.full_name, ana.document_id, ana.segment, ana.region) == (
        "Ana María Pérez",
        "111",
        "B",
        "CO",
    )
    assert ana.created_at == created and ana.updated_at > created
    assert (luis.full_name, luis.segment) == ("Luis Gómez", "C")
    assert (debts["O-1"].debtor_id, debts["O-1"].amount) == (ana.id, Decimal("90000.00"))
    assert (debts["O-2"].debtor_id, debts["O-2"].amount) == (luis.id, Decimal("50000.00"))
    assert phones == {"+573101234567": ana.id, "+573111234567": luis.id}
