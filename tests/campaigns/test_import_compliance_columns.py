"""Portfolio columns compliance needs: line type, the debtor's state/región, authorised channels."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.portfolio import import_csv, import_json_rows
from voicebot.storage import models as m

CSV = (
    "id_cliente,nombre,documento,telefono,saldo,acreedor,estado,tipo_linea,consentimiento,canales_autorizados\n"
    "U1,Ann Lee,1111,(415) 555-2671,900,Liberty,CA,,no,\n"  # unknown line: treated as mobile
    "U2,Bo Diaz,2222,(617) 555-0123,900,Liberty,Massachusetts,fijo,no,voz;sms\n"
    "U3,Cy Park,3333,(206) 555-0123,900,Liberty,US-WA,móvil,sí,ninguno\n"
    "U4,Di Wu,4444,(212) 555-0199,900,Liberty,Nueva Inglaterra,satelital,no,fax\n"
)


def test_compliance_columns_import_and_bad_cells_come_back_with_their_line(
    sessions: sessionmaker[Session],
) -> None:
    report = import_csv(sessions, CSV, default_region="US")
    assert report.imported == 3
    assert [(e.line, e.column) for e in report.errors] == [
        (5, "canales_autorizados"),
        (5, "estado"),
        (5, "tipo_linea"),
    ]
    assert "unknown channel 'fax'" in report.errors[0].reason
    with sessions() as s:
        rows = {
            d.external_id: (d.subdivision, d.authorized_channels, d.tcpa_consent, d.phones[0].kind)
            for d in s.scalars(select(m.Debtor))
        }
    assert rows == {
        "U1": ("CA", None, False, "unknown"),
        "U2": ("MA", ["voice", "sms"], False, "landline"),
        "U3": ("WA", [], True, "mobile"),
    }


def test_a_reimport_without_those_columns_keeps_them_and_a_line_type_updates_the_phone(
    sessions: sessionmaker[Session],
) -> None:
    import_csv(sessions, CSV, default_region="US")
    again = (
        "id_cliente,nombre,documento,telefono,saldo,acreedor,tipo_linea\n"
        "U1,Ann Lee,1111,(415) 555-2671,950,Liberty,landline\n"
        "U2,Bo Diaz,2222,(617) 555-0123,950,Liberty,\n"
    )
    assert import_csv(sessions, again, default_region="US").errors == []
    with sessions() as s:
        debtors = {d.external_id: d for d in s.scalars(select(m.Debtor))}
        assert debtors["U1"].phones[0].kind == "landline"
        assert debtors["U2"].phones[0].kind == "landline"  # no new fact: kept
        assert (debtors["U2"].subdivision, debtors["U2"].authorized_channels) == (
            "MA",
            ["voice", "sms"],
        )


def test_json_rows_take_the_channels_as_a_list(sessions: sessionmaker[Session]) -> None:
    rows = [
        {
            "id_cliente": "J1",
            "nombre": "Ana Pérez",
            "celular": "3101234567",
            "saldo": 100000,
            "acreedor": "Banco Andino",
            "canales_autorizados": ["voz", "whatsapp"],
            "departamento": "ANT",
        },
        {
            "id_cliente": "J2",
            "nombre": "Luis Gómez",
            "celular": "3151112233",
            "saldo": 200000,
            "acreedor": "Banco Andino",
            "departamento": "Antioquia",  # a name, not a code: kept out, the row imports
        },
    ]
    report = import_json_rows(sessions, rows, default_region="CO")
    assert report.errors == []
    with sessions() as s:
        debtors = {d.external_id: d for d in s.scalars(select(m.Debtor))}
    assert (debtors["J1"].authorized_channels, debtors["J1"].subdivision) == (
        ["voice", "whatsapp"],
        "ANT",
    )
    assert (debtors["J2"].authorized_channels, debtors["J2"].subdivision) == (None, "")
