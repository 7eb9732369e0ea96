# Piezo buzzer on a PWM pin: the board's beep(tone) hook (wasl.hw.Hardware.beep). Tones are data:
# (frequency Hz, duration ms) steps, frequency 0 a silence. beep() starts the tone as an asyncio task
# and returns at once; a new beep cuts the one playing short. The PWM object comes from the board
# (machine.PWM(pin)), the driver only sets freq() and duty_u16().
import asyncio

try:
    from asyncio import sleep_ms
except ImportError:  # CPython
    async def sleep_ms(ms):
        await asyncio.sleep(ms / 1000)

# What commercial terminals sound like: a short high chirp per key, a rising pair for "done", a low
# triple for "error". About 2.7-4 kHz is where small piezo discs are loudest.
TONES = {
    "key": ((4000, 30),),
    "ok": ((2700, 80), (0, 40), (3600, 140)),
    "error": ((440, 160), (0, 60), (440, 160), (0, 60), (330, 320)),
}


class Buzzer:
    def __init__(self, pwm, tones=None, duty=32768):
        self.pwm = pwm
        self.tones = TONES if tones is None else tones
        self.duty = duty
        self._task = None
        pwm.duty_u16(0)

    def beep(self, tone):
        """Start `tone` ('ok', 'error', 'key' or a sequence of steps) without waiting for it. An unknown
        name is ignored (a beep never stops a transaction). Outside a running event loop: silent."""
        seq = self.tones.get(tone) if isinstance(tone, str) else tone
        if not seq:
            return
        self.stop()
        coro = self.play(seq)
        try:
            self._task = asyncio.create_task(coro)
        except RuntimeError:      # CPython with no running loop
            coro.close()

    def stop(self):
        t = self._task
        self._task = None
        if t is not None and not t.done():
            t.cancel()
        self.pwm.duty_u16(0)

    async def play(self, seq):
        """Play the steps and wait for the end; the buzzer is silent afterwards, even when cancelled."""
        pwm = self.pwm
        try:
            for f, ms in seq:
                if f:
                    pwm.freq(f)
                    pwm.duty_u16(self.duty)
                else:
                    pwm.duty_u16(0)
                await sleep_ms(ms)
        finally:
            pwm.duty_u16(0)
