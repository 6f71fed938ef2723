"""Ctrl-C at any moment while building, dropping, differentiating or replaying
reaches the caller as KeyboardInterrupt, and once the caller drops its values
every node is gone: no interrupt lands between a node's creation and its
Value, nor inside Value.__del__, where a finalizer would swallow it."""
import gc
import os
import random
import signal
import sys
import threading
import time

import pytest

import pygrad
from pygrad import Value, interrupts
from helpers import live_now

pytestmark = pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                                reason="signals reach the main thread only")


def busy(until):
    """Builds, replays, differentiates and drops graphs until interrupted,
    or until the time `until`; returns normally only in that case."""
    a, b = Value(0.5, "a"), Value(0.1)
    x = Value(1.0)
    while time.monotonic() < until:
        for _ in range(100):
            x = (x * a + b).relu()           # Value op Value, then a unary op
            x = 0.5 * x + 2 ** (-x) - x / 3  # numbers on either side, rpow
            x = x ** 2 - (-x).tanh()
            kids = x.children                # handles on existing nodes
            s = pygrad.sum([x, *kids, 1.0])  # an n-ary node
        x.forward()
        x.backward()
        x = Value(x.data)                    # drops the whole chain in one __del__
        del kids, s


def test_interrupts_at_random_moments_always_arrive_and_leak_nothing(live):
    assert interrupts.installed()
    rng = random.Random(12)
    arrived = 0
    # Python swallows an exception raised inside a gc callback, whoever's:
    # pytest's own (it times collections) is set aside, so that what is
    # tested is pygrad's windows alone.
    callbacks, gc.callbacks[:] = gc.callbacks[:], []
    try:
        for _ in range(300):
            timer = threading.Timer(rng.uniform(0.0, 0.004), os.kill,
                                    (os.getpid(), signal.SIGINT))
            try:
                timer.start()
                busy(time.monotonic() + 1.0)
            except KeyboardInterrupt:
                arrived += 1
            timer.join()
    finally:
        gc.callbacks[:] = callbacks
    assert arrived == 300
    assert live_now() == live


def test_an_interrupt_inside_an_atomic_function_waits_for_it_to_return():
    log = []

    @interrupts.atomic
    def critical():
        signal.raise_signal(signal.SIGINT)  # handled at the next bytecode, here
        log.append("still running")
        return "returned"

    try:
        log.append(critical())
        for _ in range(1000):  # it comes a millisecond later, out here
            time.sleep(0.01)
        log.append("never interrupted")
    except KeyboardInterrupt:
        log.append("interrupted")
    assert log == ["still running", "returned", "interrupted"]


def test_elsewhere_the_previous_handler_runs_at_once():
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
        for _ in range(1000):
            time.sleep(0.001)
    assert interrupts._previous is signal.default_int_handler or sys.platform == "win32"
