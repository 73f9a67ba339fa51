"""A small test harness for MicroPython scripts (no unittest there): checks count passes and
failures, `raises` checks an exception's class, `events` drains a sans-IO object's events,
and `finish` prints the closing "name: N passed, N failed" line and exits with 1 when
anything failed."""
import sys

_passed = 0
_failed = 0


def check(cond, what):
    global _passed, _failed
    if cond:
        _passed += 1
    else:
        _failed += 1
        print("FAIL:", what)
    return cond


def raises(exc_class, what, fn, *args, **kwargs):
    """Calls fn; passes when it raises exc_class (a subclass counts, not a superclass).
    Returns the exception, or None."""
    try:
        fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001 - any other class is a failure, reported below
        if isinstance(e, exc_class):
            check(True, what)
            return e
        check(False, "%s: raised %s(%s), expected %s" % (what, type(e).__name__, e, exc_class.__name__))
        return e
    check(False, "%s: nothing raised, expected %s" % (what, exc_class.__name__))
    return None


def events(source, kind=None):
    """Every event `source` (a `_nomq.Endpoint` or `MqttSession`) has queued, taken now:
    those whose first item is `kind`, or all."""
    out = []
    while True:
        e = source.poll_event()
        if e is None:
            return out
        if kind is None or e[0] == kind:
            out.append(e)


def finish(name):
    print("%s: %d passed, %d failed" % (name, _passed, _failed))
    if _failed or not _passed:
        sys.exit(1)
