# wasl.drivers.battery: averaging, divider ratio, state-of-charge table, low threshold, on a FakeADC.
from fakebus import FakeADC
from wasl.drivers.battery import LIION_1S, Battery


def test_millivolts_through_divider_and_average():
    adc = FakeADC([1900000, 2100000, 2000000, 2000000])   # pin microvolts, noisy
    b = Battery(adc, ratio=2.0, samples=4)
    assert b.millivolts() == 4000 and adc.reads == 4
    b = Battery(FakeADC([1000000]), ratio=(100 + 47) / 47, samples=8)   # 100k over 47k
    assert b.millivolts() == 3127


def test_read_u16_when_no_calibrated_read():
    adc = FakeADC([1650000], with_uv=False)                 # half scale
    b = Battery(adc, ratio=2.0, samples=3, vref_mv=3300)
    assert abs(b.millivolts() - 3300) <= 2


def test_percent_table():
    b = Battery(FakeADC([0]))
    assert b.percent(4250) == 100 and b.percent(4200) == 100
    assert b.percent(3800) == 50 and b.percent(3850) == 57
    assert b.percent(3300) == 0 and b.percent(3000) == 0
    assert b.percent(4150) == 95
    pcs = [b.percent(mv) for mv in range(3000, 4300, 10)]
    assert pcs == sorted(pcs)                               # never decreasing with voltage
    two_cells = tuple((2 * mv, pc) for mv, pc in LIION_1S)
    b2 = Battery(FakeADC([2000000]), ratio=4.0, table=two_cells)
    assert b2.millivolts() == 8000 and b2.percent() == 78


def test_low_threshold_with_hysteresis():
    b = Battery(FakeADC([0]), low_mv=3500, hysteresis_mv=50)
    assert not b.low(3600)
    assert b.low(3499)
    assert b.low(3530)            # still low: not back above 3550
    assert not b.low(3560)
    assert not b.low(3510)
    adc = FakeADC([1700000])
    assert Battery(adc, ratio=2.0).low() is True            # 3400 mV measured
    adc.samples = [1800000]
    assert Battery(adc, ratio=2.0).low() is False
