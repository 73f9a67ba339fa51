"""A stand-in for a board's `network` module on the unix port, so scripts written for a board
run unchanged: a WLAN interface that is connected at once (the host's network is up) and
reports the loopback address."""
STA_IF = 0
AP_IF = 1
STAT_GOT_IP = 1010


class WLAN:
    def __init__(self, interface=STA_IF):
        self._interface = interface
        self._active = False

    def active(self, *state):
        if state:
            self._active = bool(state[0])
        return self._active

    def connect(self, ssid=None, key=None, **kwargs):
        pass

    def disconnect(self):
        pass

    def isconnected(self):
        return True

    def status(self, *args):
        return STAT_GOT_IP

    def ifconfig(self, *config):
        return ("127.0.0.1", "255.0.0.0", "127.0.0.1", "127.0.0.1")

    def config(self, *args, **kwargs):
        if args and args[0] == "mac":
            return b"\x02\x00\x00\x00\x00\x01"
        return None
