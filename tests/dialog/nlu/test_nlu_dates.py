"""Days and callback times relative to the call date (Monday 2026-11-23, Bogotá)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from voicebot.dialog.nlu import understand

TODAY = date(2026, 11, 23)  # a Monday
BOGOTA = ZoneInfo("America/Bogota")
MORNING = datetime(2026, 11, 23, 10, 0, tzinfo=BOGOTA)  # the call happens at 10:00

DAYS = [
    ("mañana", date(2026, 11, 24)),
    ("manana pago", date(2026, 11, 24)),
    ("pasado mañana", date(2026, 11, 25)),
    ("pasado manana le consigno", date(2026, 11, 25)),
    ("hoy", TODAY),
    ("hoy mismo", TODAY),
    ("le pago al tiro", TODAY),
    ("ahorita le pago", TODAY),
    ("el lunes", date(2026, 11, 30)),  # today is Monday: next week
    ("el martes", date(2026, 11, 24)),
    ("el miércoles", date(2026, 11, 25)),
    ("el miercoles", date(2026, 11, 25)),
    ("el viernes", date(2026, 11, 27)),
    ("este viernes", date(2026, 11, 27)),
    ("el próximo viernes", date(2026, 11, 27)),
    ("el sábado", date(2026, 11, 28)),
    ("el domingo", date(2026, 11, 29)),
    ("el viernes de la otra semana", date(2026, 12, 4)),
    ("el otro viernes", date(2026, 12, 4)),
    ("el quince", date(2026, 12, 15)),  # the 15th of November has passed
    ("el 15", date(2026, 12, 15)),
    ("el día quince", date(2026, 12, 15)),
    ("el treinta", date(2026, 11, 30)),
    ("el veintitrés", TODAY),
    ("el veinticuatro", date(2026, 11, 24)),
    ("el treinta y uno", date(2026, 11, 30)),  # November has 30 days
    ("el primero", date(2026, 12, 1)),
    ("el primero de diciembre", date(2026, 12, 1)),
    ("el 5 de diciembre", date(2026, 12, 5)),
    ("el cinco de diciembre", date(2026, 12, 5)),
    ("el doce de diciembre", date(2026, 12, 12)),
    ("el 10 de enero", date(2027, 1, 10)),
    ("el 5 de diciembre de 2026", date(2026, 12, 5)),
    ("el dos del próximo mes", date(2026, 12, 2)),
    ("5/12", date(2026, 12, 5)),
    ("le pago el 5/12", date(2026, 12, 5)),
    ("20/1/2027", date(2027, 1, 20)),
    ("a fin de mes", date(2026, 11, 30)),
    ("a final de mes", date(2026, 11, 30)),
    ("a finales de mes", date(2026, 11, 30)),
    ("la quincena", date(2026, 11, 30)),  # the 15th has passed: the month's end
    ("a principios del próximo mes", date(2026, 12, 1)),
    ("el próximo mes", date(2026, 12, 1)),
    ("el mes que viene", date(2026, 12, 1)),
    ("la otra semana", date(2026, 11, 30)),
    ("la próxima semana", date(2026, 11, 30)),
    ("la semana que viene", date(2026, 11, 30)),
    ("en dos semanas", date(2026, 12, 7)),
    ("en una semana", date(2026, 11, 30)),
    ("en ocho días", date(2026, 11, 30)),  # LatAm "ocho días" is a week
    ("en quince días", date(2026, 12, 7)),
    ("en tres días", date(2026, 11, 26)),
    ("dentro de 10 días", date(2026, 12, 3)),
    ("en un mes", date(2026, 12, 23)),
    ("este fin de semana", date(2026, 11, 28)),
    ("el día de mañana le pago", date(2026, 11, 24)),
    ("después del quince", date(2026, 12, 15)),
    ("le pago la próxima semana el miércoles", date(2026, 12, 2)),
    ("el 30 de este mes", date(2026, 11, 30)),
    ("le pago el martes primero de diciembre", date(2026, 12, 1)),
    ("el jueves 10 de diciembre", date(2026, 12, 10)),
    ("el lunes 30 le pago", date(2026, 11, 30)),
    ("le pago de hoy en ocho", date(2026, 11, 30)),
    ("a mediados de diciembre", date(2026, 12, 15)),
    ("a mediados de mes", date(2026, 12, 15)),
    ("pago el 2 de enero del 2027", date(2027, 1, 2)),
    ("le pago el 30/11", date(2026, 11, 30)),
    ("ayer", date(2026, 11, 22)),
    ("el viernes pasado", date(2026, 11, 20)),
]


@pytest.mark.parametrize(("text", "day"), DAYS)
def test_days(text: str, day: date) -> None:
    assert understand(text, today=TODAY).date == day


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("ya pagué el sábado", date(2026, 11, 21)),
        ("ya hice la transferencia el lunes", date(2026, 11, 16)),
        ("pagué el quince", date(2026, 11, 15)),
        ("ya consigné el 20 de octubre", date(2026, 10, 20)),
    ],
)
def test_a_payment_made_looks_back(text: str, day: date) -> None:
    assert understand(text, today=TODAY).date == day


def test_today_gives_way_to_another_named_day() -> None:
    assert understand("ahorita no, llámeme mañana", today=TODAY).date == date(2026, 11, 24)
    assert understand("hoy no puedo, el viernes sí", today=TODAY).date == date(2026, 11, 27)


def test_weekday_equal_to_today_is_next_week_on_any_day() -> None:
    friday = date(2026, 11, 27)
    assert understand("el viernes", today=friday).date == date(2026, 12, 4)
    assert understand("el sábado", today=friday).date == date(2026, 11, 28)


def test_day_of_month_not_yet_passed_is_this_month() -> None:
    early = date(2026, 11, 3)
    assert understand("el quince", today=early).date == date(2026, 11, 15)
    assert understand("la quincena", today=early).date == date(2026, 11, 15)


def test_month_end_rolls_over_the_year() -> None:
    assert understand("el 2 de enero", today=date(2026, 12, 20)).date == date(2027, 1, 2)
    assert understand("a fin de mes", today=date(2026, 12, 20)).date == date(2026, 12, 31)
    assert understand("el próximo mes", today=date(2026, 12, 20)).date == date(2027, 1, 1)


CALLBACKS = [
    ("mañana en la tarde", datetime(2026, 11, 24, 15, 0, tzinfo=BOGOTA)),
    ("llámeme mañana en la mañana", datetime(2026, 11, 24, 9, 0, tzinfo=BOGOTA)),
    ("manana en la manana", datetime(2026, 11, 24, 9, 0, tzinfo=BOGOTA)),
    ("en la noche", datetime(2026, 11, 23, 19, 0, tzinfo=BOGOTA)),
    ("llámeme esta tarde", datetime(2026, 11, 23, 15, 0, tzinfo=BOGOTA)),
    ("en una hora", MORNING + timedelta(hours=1)),
    ("en media hora", MORNING + timedelta(minutes=30)),
    ("llámeme en dos horas", MORNING + timedelta(hours=2)),
    ("en veinte minutos", MORNING + timedelta(minutes=20)),
    ("a las tres", datetime(2026, 11, 23, 15, 0, tzinfo=BOGOTA)),
    ("a las 3 de la tarde", datetime(2026, 11, 23, 15, 0, tzinfo=BOGOTA)),
    ("a las cinco y media", datetime(2026, 11, 23, 17, 30, tzinfo=BOGOTA)),
    ("a las cuatro y cuarto", datetime(2026, 11, 23, 16, 15, tzinfo=BOGOTA)),
    ("a las once", datetime(2026, 11, 23, 11, 0, tzinfo=BOGOTA)),
    ("a las nueve", datetime(2026, 11, 24, 9, 0, tzinfo=BOGOTA)),  # 09:00 passed: tomorrow
    ("a las 9 de la mañana", datetime(2026, 11, 24, 9, 0, tzinfo=BOGOTA)),
    ("a la una", datetime(2026, 11, 23, 13, 0, tzinfo=BOGOTA)),
    ("a las 4:30", datetime(2026, 11, 23, 16, 30, tzinfo=BOGOTA)),
    ("a las 3 y 30", datetime(2026, 11, 23, 15, 30, tzinfo=BOGOTA)),
    ("a las 8 de la noche", datetime(2026, 11, 23, 20, 0, tzinfo=BOGOTA)),
    ("después de las seis", datetime(2026, 11, 23, 18, 0, tzinfo=BOGOTA)),
    ("a las 6 pm", datetime(2026, 11, 23, 18, 0, tzinfo=BOGOTA)),
    ("el lunes a las diez", datetime(2026, 11, 30, 10, 0, tzinfo=BOGOTA)),
    ("el jueves en la tarde", datetime(2026, 11, 26, 15, 0, tzinfo=BOGOTA)),
    ("al mediodía", datetime(2026, 11, 23, 12, 0, tzinfo=BOGOTA)),
]


@pytest.mark.parametrize(("text", "moment"), CALLBACKS)
def test_callback_times(text: str, moment: datetime) -> None:
    got = understand(text, today=TODAY, now=MORNING, tz="America/Bogota").callback_at
    assert got == moment
    assert got is not None and got.utcoffset() == moment.utcoffset()


def test_callback_time_is_in_the_debtors_zone() -> None:
    now = datetime(2026, 11, 23, 16, 0, tzinfo=ZoneInfo("UTC"))  # 10:00 in Mexico City
    got = understand("a las tres", today=TODAY, now=now, tz="America/Mexico_City").callback_at
    assert got == datetime(2026, 11, 23, 15, 0, tzinfo=ZoneInfo("America/Mexico_City"))
    assert got is not None and got.tzinfo is not None


def test_relative_delay_needs_the_moment() -> None:
    assert understand("en una hora", today=TODAY).callback_at is None


@pytest.mark.parametrize("text", ["llámeme más tarde", "le pago cien mil", "ya pagué"])
def test_no_time_no_callback_moment(text: str) -> None:
    assert understand(text, today=TODAY, now=MORNING).callback_at is None
