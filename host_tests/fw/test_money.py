# wasl.money.format_amount: integers in minor units, French style by default.
from wasl.money import format_amount


def test_exponent_two():
    assert format_amount(0) == "0,00"
    assert format_amount(5) == "0,05"
    assert format_amount(50) == "0,50"
    assert format_amount(100) == "1,00"
    assert format_amount(99999) == "999,99"
    assert format_amount(100000) == "1 000,00"
    assert format_amount(12345678) == "123 456,78"
    assert format_amount(999999999999) == "9 999 999 999,99"


def test_exponent_zero():
    assert format_amount(0, 0) == "0"
    assert format_amount(7, 0) == "7"
    assert format_amount(1234, 0) == "1 234"
    assert format_amount(1000000, 0) == "1 000 000"


def test_exponent_three():
    assert format_amount(1, 3) == "0,001"
    assert format_amount(1234567, 3) == "1 234,567"


def test_negative():
    assert format_amount(-5) == "-0,05"
    assert format_amount(-12345678) == "-123 456,78"
    assert format_amount(-1234, 0) == "-1 234"
    assert format_amount(-100000) == "-1 000,00"


def test_separators():
    assert format_amount(123456789, 2, ",", ".") == "1,234,567.89"
    assert format_amount(123456789, 2, "", ",") == "1234567,89"
